"""MCP server benchmark (not a test): Orchestra next to the official SDK's server.

Prints requests/s and p50/p95/p99 for `tools/list` and a cheap tool call at 1, 10 and
50 concurrent clients (each its own MCP session) on both servers (ours with token
auth, rate limiting and tenancy on), the ratio ours/reference, how long a revoked
token keeps working under load, and the memory and delivery latency of idle legacy
SSE streams on one process.

Run: `make bench`, or `.venv/bin/python bench/bench_mcp.py [--seconds 4] [--streams 1000]`.
It uses its own embedded database (orchestra_bench) and free ports on 127.0.0.1.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
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


class Target:
    def __init__(self, name: str, url: str, headers: dict[str, str], tool: str, arguments: dict[str, Any]):
        self.name, self.url, self.headers, self.tool, self.arguments = name, url, headers, tool, arguments

    async def open(self, http: httpx2.AsyncClient) -> dict[str, str]:
        """A new MCP session (one per simulated client); the headers its requests carry."""
        base = {**self.headers, "Accept": "application/json, text/event-stream"}
        params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
        response = await http.post(
            self.url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}, headers=base
        )
        response.raise_for_status()
        session = {**base, "Mcp-Session-Id": response.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        await http.post(self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        return session

    def body(self, workload: str, request_id: int) -> dict[str, Any]:
        if workload == "tools/list":
            return {"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": {}}
        params = {"name": self.tool, "arguments": self.arguments}
        return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


async def load(target: Target, workload: str, clients: int, seconds: float) -> dict[str, float]:
    """`clients` concurrent sessions, each sending requests back to back for `seconds`."""
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as http:
        sessions = [await target.open(http) for _ in range(clients)]
        for session in sessions:  # warm up
            await http.post(target.url, json=target.body(workload, 1), headers=session)
        latencies: list[float] = []
        errors = 0
        deadline = time.monotonic() + seconds

        async def worker(n: int) -> None:
            nonlocal errors
            request_id = 1  # never reused within a session (the SDK's server drops repeats)
            while time.monotonic() < deadline:
                request_id += 1
                started = time.perf_counter()
                response = await http.post(target.url, json=target.body(workload, request_id), headers=sessions[n])
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or b'"error"' in response.content[:200]:
                    errors += 1

        began = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(clients)))
        wall = time.monotonic() - began
    return {
        "rps": len(latencies) / wall,
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "errors": errors,
    }


async def revocation_under_load(ours: Target, token: str) -> float:
    """Seconds between `revoketoken` exiting and the token's requests being refused."""
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await ours.open(http)
        stop = asyncio.Event()
        refused_at: list[float] = []

        async def hammer(n: int) -> None:
            request_id = n * 1_000_000
            while not stop.is_set():
                request_id += 1
                response = await http.post(ours.url, json=ours.body("call", request_id), headers=session)
                if response.status_code == 401 and not refused_at:
                    refused_at.append(time.monotonic())
                    stop.set()

        workers = [asyncio.create_task(hammer(n)) for n in range(10)]
        await asyncio.sleep(1)
        await asyncio.to_thread(manage, "revoketoken", token)
        revoked_at = time.monotonic()
        await asyncio.wait_for(stop.wait(), 10)
        for worker in workers:
            worker.cancel()
        return refused_at[0] - revoked_at


async def sse_capacity(base: str, token: str, streams: int, pid: int) -> dict[str, float]:
    """Open `streams` legacy SSE streams, idle them, then post one ping to each."""
    process = psutil.Process(pid)
    rss_before = process.memory_info().rss
    limits = httpx2.Limits(max_connections=streams + 50, max_keepalive_connections=streams + 50)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(limits=limits, timeout=httpx2.Timeout(60, read=600)) as http:
        ready: list[tuple[str, asyncio.Queue[float]]] = []
        opened = asyncio.Event()

        async def hold() -> None:
            arrivals: asyncio.Queue[float] = asyncio.Queue()
            async with http.stream("GET", f"{base}/mcp/sse", headers=auth) as response:
                lines = response.aiter_lines()
                async for line in lines:
                    if line.startswith("data:"):
                        ready.append((line[5:].strip(), arrivals))
                        break
                if len(ready) == streams:
                    opened.set()
                async for line in lines:
                    if line.startswith("data:"):
                        arrivals.put_nowait(time.perf_counter())

        holders = []
        for i in range(streams):
            holders.append(asyncio.create_task(hold()))
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(opened.wait(), 300)
        await asyncio.sleep(2)  # idle: keepalives only
        rss_after = process.memory_info().rss
        latencies: list[float] = []
        in_flight = asyncio.Semaphore(20)

        async def deliver(endpoint: str, arrivals: asyncio.Queue[float]) -> None:
            async with in_flight:
                sent = time.perf_counter()
                ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
                await http.post(f"{base}{endpoint}", json=ping, headers=auth)
                latencies.append(await asyncio.wait_for(arrivals.get(), 30) - sent)

        await asyncio.gather(*(deliver(endpoint, arrivals) for endpoint, arrivals in ready))
        for task in holders:
            task.cancel()
    return {
        "streams": streams,
        "rss_before_mb": rss_before / 2**20,
        "rss_after_mb": rss_after / 2**20,
        "per_stream_kb": (rss_after - rss_before) / streams / 1024,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks in the task tools' project")
    parser.add_argument("--only-tasks", action="store_true", help="run only the task tools' section")
    args = parser.parse_args()
    concurrency = [int(c) for c in args.clients.split(",")]

    print("preparing the bench database ...", flush=True)
    manage("migrate", "--verbosity", "0")
    slug = f"bench{int(time.time())}"
    manage("createorganization", "Bench", "--owner", f"{slug}@bench.local", "--slug", slug)

    def new_token() -> str:
        return TOKEN_RE.findall(manage("createtoken", "--org", slug, "--user", f"{slug}@bench.local"))[0]

    token = new_token()
    ours_port, ref_port = free_port(), free_port()
    daphne = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(ours_port), "orchestra.asgi:application"]
    ours_proc = start(daphne, f"http://127.0.0.1:{ours_port}/healthz")
    ref_proc = start([PY, "bench/reference_server.py", str(ref_port)], f"http://127.0.0.1:{ref_port}/mcp")
    ours = Target(
        "orchestra", f"http://127.0.0.1:{ours_port}/mcp", {"Authorization": f"Bearer {token}"}, "get_context", {}
    )
    ref = Target("reference", f"http://127.0.0.1:{ref_port}/mcp", {}, "echo", {"text": "hi"})
    try:
        if not args.only_tasks:
            transport_figures(args, concurrency, ours, ref, token, new_token, ours_port, ours_proc.pid)
        # The transport section revokes its token; the task tools get their own.
        task_token = new_token()
        task_target = Target("orchestra", ours.url, {"Authorization": f"Bearer {task_token}"}, "get_context", {})
        task_tool_figures(args, task_target, task_token, f"{slug}-tasks")
    finally:
        for process in (ours_proc, ref_proc):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def transport_figures(
    args: argparse.Namespace,
    concurrency: list[int],
    ours: Target,
    ref: Target,
    token: str,
    new_token: Callable[[], str],
    ours_port: int,
    ours_pid: int,
) -> None:
    columns = f"{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    print(f"\n{'workload':<12}{'clients':>8} | {'server':<10}{columns} | ratio")
    for workload in ("tools/list", "call"):
        label = workload if workload == "tools/list" else "tool call"
        for clients in concurrency:
            results: dict[str, dict[str, float]] = {}
            for target in (ref, ours):
                r = results[target.name] = asyncio.run(load(target, workload, clients, args.seconds))
                ratio = f"{r['rps'] / results['reference']['rps']:.2f}" if target is ours else ""
                row = f"{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8.0f}"
                print(f"{label:<12}{clients:>8} | {target.name:<10}{row} | {ratio}", flush=True)
    print("(ours: the tool call is get_context, with token auth, rate limit and tenancy on; reference: an echo tool)")

    elapsed = asyncio.run(revocation_under_load(ours, token))
    print(f"\nrevocation under load (10 clients): refused {elapsed * 1000:.0f} ms after revoketoken exited")

    sse = asyncio.run(sse_capacity(f"http://127.0.0.1:{ours_port}", new_token(), args.streams, ours_pid))
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
    print(f"\n{'tool':<16}{'clients':>8} |{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for tool, arguments in workloads:
        target = Target(tool, ours.url, ours.headers, tool, arguments)
        for clients in (1, 10):
            r = asyncio.run(load(target, "call", clients, args.seconds))
            row = f"{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8.0f}"
            print(f"{tool:<16}{clients:>8} |{row}", flush=True)
    print(f"(a project with {args.tasks:,} tasks; list_tasks: a page of 20 open tasks; resume_session: 20 memories)")


if __name__ == "__main__":
    main()
