"""Throughput of a realistic mix (not a test): this checkout next to a baseline commit.

Prints, for 10 and 50 concurrent clients (each its own MCP session on its own
connection, sending tool calls back to back), the requests/s, p50/p95/p99 latency,
errors (HTTP status other than 200, a JSON-RPC error, or a tool result with isError;
the first distinct messages are printed, so a broken cell shows), the CPU time per
request of the Orchestra process and of the PostgreSQL server, and the ratio
head/baseline in requests/s; then each tool's p50 within the mix, on both servers, and
each tool called alone (10 clients, --alone seconds): its requests/s and CPU per call.

The mix is bench/reliability.py's agent session (MIX: get_context 20, list_tasks 25,
create_task 20, store_memory 15, search_memory 20), with the arguments of
reliability_load.Workload, in a project created through create_project; each
client's choices come from a seeded generator, the same for both servers in a round.

Issue 20's goal: requests/s of this mix at 10 and 50 clients at least 3x those of
commit 0958643, measured in the same run. Both servers are `manage.py serve
--no-worker` (one process; in the embedded default a stored memory is embedded on a
background thread of that process, which is how both commits run without Redis), on
the same PostgreSQL server (this checkout's embedded one, one database each), with
token auth, tenancy, audit rows and rate limiting on (the limit set high, so it
counts every request but refuses none). This checkout's organization is on the Team
plan (`manage.py setplan`), so its plan limits are enforced; its 1,200 requests a
minute are raised with MCP_PLAN_RATE_LIMITS. The baseline predates plans, so its
organization has no plan limits to check: that favours the baseline.

Each cell's time is split into interleaved rounds (baseline, head, baseline, ...)
so drift of a shared machine hits both alike; each server is warmed up first, and
after each round the bench waits until the server is idle again (a backlog of
embeddings must not slow the other server's round; its CPU is counted in the
round's CPU per request). Every run makes new organizations; a Team organization
allows 10,000 tasks a month, far more than a default run creates.

The baseline is checked out once with `git worktree add --detach
var/bench/baseline-<sha> <sha>` and kept, with its own database
(orchestra_bench_base), migrated on the first run (about 3 minutes; later runs
find nothing to apply). `git worktree remove var/bench/baseline-<sha>` deletes it.

Run: `make bench`, or `.venv/bin/python bench/bench_mix.py [--baseline 0958643]
[--seconds 12] [--rounds 3] [--clients 10,50] [--warmup 3] [--alone 2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import orjson
import psutil
import uvloop
from loadgen import Connection, Response
from reliability import MIX
from reliability_load import Workload, json_body, structured

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PROTOCOL = "2025-11-25"
TOKEN_RE = re.compile(r"orch_live_[0-9A-Za-z]{38}")
HIGH = "100000000"
# Settings that would point a server elsewhere than the embedded default.
FOREIGN = ("DATABASE_URL", "REDIS_URL", "EMBEDDED_DB_NAME", "ORCHESTRA_VAR_DIR", "CELERY_TASK_ALWAYS_EAGER")
CONNECTION_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, EOFError, ValueError)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def base_env() -> dict[str, str]:
    """Both servers: the embedded default on this checkout's PostgreSQL server (var/),
    auth and rate limits on with limits that refuse nothing."""
    env = {key: value for key, value in os.environ.items() if key not in FOREIGN}
    env.update(
        {
            "ORCHESTRA_VAR_DIR": str(ROOT / "var"),
            "LOG_LEVEL": "WARNING",
            "MCP_RATE_LIMIT_PER_MINUTE": HIGH,
            "AUTH_FAILURE_LIMIT_PER_MINUTE": HIGH,
            "MCP_PLAN_RATE_LIMITS": f"team={HIGH}",  # read by this checkout only
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def baseline_checkout(commit: str) -> Path:
    """The baseline's worktree under var/bench/, made on first use and kept."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short=7", f"{commit}^{{commit}}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    path = ROOT / "var" / "bench" / f"baseline-{sha}"
    if not (path / "manage.py").exists():
        print(f"checking out {sha} into {path.relative_to(ROOT)} ...", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        # -f: a checkout whose directory was deleted (var/ cleaned) is still registered.
        subprocess.run(
            ["git", "worktree", "add", "-f", "--detach", str(path), sha], cwd=ROOT, check=True, capture_output=True
        )
    return path


@dataclass
class Server:
    """One Orchestra: its checkout, its database, its process, its organization."""

    name: str
    root: Path
    database: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    project: str = ""

    def __post_init__(self) -> None:
        self.env = {**base_env(), "EMBEDDED_DB_NAME": self.database}
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PY, "manage.py", *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0:
            raise RuntimeError(f"{self.name}: manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def migrate(self) -> None:
        """Migrate, printing each migration applied (a fresh database takes minutes)."""
        began = time.monotonic()
        print(f"{self.name}: migrating {self.database} (a fresh database takes about 3 minutes) ...", flush=True)
        process = subprocess.Popen(
            [PY, "manage.py", "migrate", "--no-input"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        applied, tail = 0, []
        for line in process.stdout:
            tail = [*tail[-20:], line.rstrip()]
            if "Applying" in line:
                applied += 1
                print(f"  {line.strip()}", flush=True)
        if process.wait() != 0:
            raise RuntimeError(f"{self.name}: migrate failed:\n" + "\n".join(tail))
        print(f"{self.name}: {applied} migrations applied in {time.monotonic() - began:.0f} s", flush=True)

    def organization(self, slug: str, plan: str | None) -> None:
        owner = f"{slug}@bench.local"
        self.manage("createorganization", f"Mix {slug}", "--owner", owner, "--slug", slug)
        if plan is not None:
            print(f"{self.name}: {self.manage('setplan', '--org', slug, '--plan', plan).strip()}", flush=True)
        self.token = TOKEN_RE.findall(self.manage("createtoken", "--org", slug, "--user", owner))[0]

    def start(self) -> None:
        argv = [PY, "manage.py", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            argv, cwd=self.root, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(600):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: serve exited with {self.process.returncode}")
            try:
                httpx2.get(f"http://127.0.0.1:{self.port}/healthz", timeout=0.5)
                return
            except httpx2.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name}: serve did not answer within 60 s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return cpu_of(psutil.Process(self.process.pid))


def cpu_of(process: psutil.Process) -> float:
    """CPU time of a process and its children (0 for one that has gone)."""
    total = 0.0
    try:
        for proc in [process, *process.children(recursive=True)]:
            times = proc.cpu_times()
            total += times.user + times.system
    except psutil.Error:
        pass
    return total


def postgres() -> psutil.Process | None:
    """The embedded PostgreSQL server both Orchestras use (its postmaster)."""
    pid_file = ROOT / "var" / "pgdata" / "postmaster.pid"
    try:
        return psutil.Process(int(pid_file.read_text().split()[0]))
    except (OSError, ValueError, psutil.Error):
        return None


# --- one simulated client -------------------------------------------------------------


def answer(response: Response) -> tuple[str | None, dict[str, Any]]:
    """(why the tool call failed: HTTP status, JSON-RPC error or isError; or None,
    the tool's structured result)."""
    if response.status != 200:
        return f"http {response.status}: {response.body[:160].decode('utf-8', 'replace')}", {}
    body = json_body(response)
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return f"unreadable body: {body[:160]!r}", {}
    if "error" in message:
        error = message["error"]
        return f"jsonrpc {error.get('code')}: {error.get('message')}", {}
    result = structured(message.get("result") or {})
    if (message.get("result") or {}).get("isError"):
        error = result.get("error") or {}
        return f"tool {error.get('code', 'error')}: {error.get('message', '')}", {}
    return None, result


class Client:
    """One MCP session (initialize, notifications/initialized) on one keep-alive connection."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.connection: Connection | None = None
        self.headers: dict[str, str] = {}
        self.request_id = 0

    async def open(self) -> None:
        self.connection = await Connection.open(self.server.url)
        base = {
            "Authorization": f"Bearer {self.server.token}",
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        params = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench-mix", "version": "1"}}
        initialize = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
        response = await self.connection.post("/mcp", base, orjson.dumps(initialize))
        if response.status != 200:
            raise RuntimeError(f"{self.server.name}: initialize answered {response.status}: {response.body[:200]!r}")
        self.headers = {**base, "Mcp-Session-Id": response.headers["mcp-session-id"], "MCP-Protocol-Version": PROTOCOL}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await self.connection.post("/mcp", self.headers, orjson.dumps(initialized))

    async def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                await asyncio.wait_for(connection.close(), 1)
            except (TimeoutError, *CONNECTION_ERRORS):
                pass

    async def call(self, tool: str, arguments: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """(the problem or None, the tool's structured result)."""
        if self.connection is None:
            await self.open()
        assert self.connection is not None
        self.request_id += 1
        params = {"name": tool, "arguments": arguments}
        body = orjson.dumps({"jsonrpc": "2.0", "id": self.request_id, "method": "tools/call", "params": params})
        try:
            response = await asyncio.wait_for(
                self.connection.send(self.connection.encode("/mcp", self.headers, body)), 30
            )
        except (TimeoutError, *CONNECTION_ERRORS) as exc:
            await self.close()  # reopened, with a new session, by the next call
            return f"connection {type(exc).__name__}", {}
        return answer(response)


# --- load -----------------------------------------------------------------------------


@dataclass
class Sample:
    """What one or more runs of the mix saw on one server."""

    by_tool: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0
    server_cpu: float = 0.0
    db_cpu: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return [latency for values in self.by_tool.values() for latency in values]

    def add(self, other: Sample) -> None:
        for tool, values in other.by_tool.items():
            self.by_tool[tool] += values
        self.errors.update(other.errors)
        self.wall += other.wall
        self.server_cpu += other.server_cpu
        self.db_cpu += other.db_cpu

    def figures(self) -> dict[str, float]:
        latencies = self.latencies
        count = max(1, len(latencies))
        return {
            "rps": len(latencies) / self.wall if self.wall else 0.0,
            "p50": percentile(latencies, 50) * 1000,
            "p95": percentile(latencies, 95) * 1000,
            "p99": percentile(latencies, 99) * 1000,
            "errors": sum(self.errors.values()),
            "server_us": self.server_cpu / count * 1e6,
            "db_us": self.db_cpu / count * 1e6,
        }


async def run_mix(
    server: Server, clients: int, seconds: float, seed: str, weights: dict[str, int] | None = None
) -> Sample:
    """`clients` sessions sending calls from the mix (or `weights`) back to back for `seconds`."""
    workload = Workload(server.project, weights or MIX, f"mix-{seed}")
    opened = [Client(server) for _ in range(clients)]
    for client in opened:
        await client.open()
    sample = Sample()
    deadline = time.monotonic() + seconds

    async def worker(n: int, client: Client) -> None:
        rng = random.Random(f"{seed}-{n}")
        count = 0
        while time.monotonic() < deadline:
            count += 1
            tool, arguments = workload.pick(rng, n, count)
            started = time.perf_counter()
            kind, _ = await client.call(tool, arguments)
            sample.by_tool[tool].append(time.perf_counter() - started)
            if kind is not None:
                sample.errors[f"{tool}: {kind}"] += 1

    database = postgres()
    cpu_before, db_before, began = server.cpu_seconds(), cpu_of(database) if database else 0.0, time.monotonic()
    await asyncio.gather(*(worker(n, client) for n, client in enumerate(opened)))
    sample.wall = time.monotonic() - began
    for client in opened:
        await client.close()
    settle(server)
    sample.server_cpu = server.cpu_seconds() - cpu_before
    sample.db_cpu = (cpu_of(database) - db_before) if database else 0.0
    return sample


def settle(server: Server, timeout: float = 30) -> None:
    """Wait until the server is idle (under 5% of a core for half a second): work it
    deferred (embeddings) must not run during the other server's round."""
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    process.cpu_percent(None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if process.cpu_percent(None) < 5:
            return


async def create_project(server: Server) -> str:
    client = Client(server)
    await client.open()
    kind, project = await client.call("create_project", {"name": f"Mix {int(time.time() * 1000)}"})
    await client.close()
    if kind is not None:
        raise RuntimeError(f"{server.name}: create_project failed: {kind}")
    return str(project["slug"])


async def context(server: Server) -> dict[str, Any]:
    client = Client(server)
    await client.open()
    kind, answer = await client.call("get_context", {})
    await client.close()
    if kind is not None:
        raise RuntimeError(f"{server.name}: get_context failed: {kind}")
    return answer


# --- output ---------------------------------------------------------------------------

COLUMNS = f"{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'server µs':>11}{'db µs':>8}"


def row(figures: dict[str, float]) -> str:
    f = figures
    return (
        f"{f['rps']:>8.0f}{f['p50']:>9.1f}{f['p95']:>9.1f}{f['p99']:>9.1f}{f['errors']:>8.0f}"
        f"{f['server_us']:>11.0f}{f['db_us']:>8.0f}"
    )


def print_errors(name: str, sample: Sample, shown: int = 5) -> None:
    for message, count in sample.errors.most_common(shown):
        print(f"    {name} error x{count}: {message[:200]}")


def print_tools(samples: dict[int, tuple[Sample, Sample]]) -> None:
    print("\np50 ms of each tool within the mix (baseline -> head):")
    print(f"{'tool':<16}" + "".join(f"{f'{clients} clients':>24}" for clients in samples))
    for tool in MIX:
        cells = []
        for base, head in samples.values():
            before, after = percentile(base.by_tool[tool], 50) * 1000, percentile(head.by_tool[tool], 50) * 1000
            cells.append(f"{before:>10.1f} -> {after:>7.1f}   ")
        print(f"{tool:<16}" + "".join(f"{cell:>24}" for cell in cells))


# --- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="0958643", help="the commit to compare with")
    parser.add_argument("--seconds", type=float, default=12, help="measuring time of each cell, per server")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs each cell's time is split into")
    parser.add_argument("--clients", default="10,50")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load on each server before timing")
    parser.add_argument("--alone", type=float, default=2, help="seconds of each tool alone per server (0: skip)")
    args = parser.parse_args()
    concurrency = [int(c) for c in args.clients.split(",")]

    head = Server("head", ROOT, "orchestra_bench")
    base = Server(f"baseline {args.baseline}", baseline_checkout(args.baseline), "orchestra_bench_base")
    servers = [base, head]
    slug = f"mix{int(time.time())}"
    try:
        for server, plan in ((base, None), (head, "team")):
            server.migrate()
            server.organization(f"{slug}{'h' if server is head else 'b'}", plan)
            server.start()
            server.project = uvloop.run(create_project(server))
        plan = uvloop.run(context(head)).get("plan") or {}
        print(
            f"head: plan {plan.get('code')}, limits {plan.get('limits')}, {plan.get('requests_per_minute')} requests"
            f" per minute (MCP_PLAN_RATE_LIMITS); baseline: no plans at {args.baseline} (favours the baseline)",
            flush=True,
        )
        for server in servers:
            uvloop.run(run_mix(server, 10, args.warmup, "warmup"))
        measure(args, concurrency, base, head)
        if args.alone > 0:
            measure_alone(args.alone, base, head)
        usage = uvloop.run(context(head)).get("usage") or {}
        print(f"head's organization used {usage.get('tasks')} tasks and {usage.get('memory_bytes')} memory bytes")
    finally:
        for server in servers:
            server.stop()


def measure(args: argparse.Namespace, concurrency: list[int], base: Server, head: Server) -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores, load average {load} (other work on it slows both servers alike)")
    print(f"\n{'clients':>7} | {'server':<18}{COLUMNS} | head/baseline")
    per_tool: dict[int, tuple[Sample, Sample]] = {}
    for clients in concurrency:
        totals = (Sample(), Sample())
        for round_ in range(args.rounds):
            seed = f"{clients}-{round_}"  # the same choices for both servers in a round
            for server, total in zip((base, head), totals, strict=True):
                total.add(uvloop.run(run_mix(server, clients, args.seconds / args.rounds, seed)))
        before, after = totals[0].figures(), totals[1].figures()
        ratio = after["rps"] / before["rps"] if before["rps"] else float("nan")
        print(f"{clients:>7} | {base.name:<18}{row(before)} |")
        print_errors(base.name, totals[0])
        verdict = "goal 3x met" if ratio >= 3 else "goal 3x not met"
        print(f"{clients:>7} | {head.name:<18}{row(after)} | {ratio:.2f}x ({verdict})")
        print_errors(head.name, totals[1])
        sys.stdout.flush()
        per_tool[clients] = totals
    print(
        "(server µs: CPU time per request of the Orchestra process, deferred embeddings included;"
        " db µs: of the PostgreSQL server both use)"
    )
    print_tools(per_tool)


def measure_alone(seconds: float, base: Server, head: Server, clients: int = 10) -> None:
    """Each tool of the mix on its own: where each server's CPU goes."""
    print(f"\neach tool alone, {clients} clients, {seconds:.0f} s per server:")
    print(f"{'tool':<16}| {'server':<18}{'req/s':>8}{'p50 ms':>9}{'errors':>8}{'server µs':>11}{'db µs':>8}")
    for tool in MIX:
        for server in (base, head):
            sample = uvloop.run(run_mix(server, clients, seconds, f"alone-{tool}", {tool: 1}))
            f = sample.figures()
            print(
                f"{tool:<16}| {server.name:<18}{f['rps']:>8.0f}{f['p50']:>9.1f}{f['errors']:>8.0f}"
                f"{f['server_us']:>11.0f}{f['db_us']:>8.0f}",
                flush=True,
            )
            print_errors(server.name, sample, 2)


if __name__ == "__main__":
    main()
