"""Tool latency benchmark (not a test): each common tool beside get_context, and
beside its own SQL.

One client, one MCP session, the tools called in turn (one round calls each once, so
drift hits all alike), through Streamable HTTP on `manage.py serve` with token auth,
rate limits and tenancy on. For each tool it prints the client-observed p50 and p95,
the p50 as a multiple of get_context's (answered from this process's memory), and,
from the server's Server-Timing header (MCP_SERVER_TIMING): the server's own time, the
handler's time in its worker thread, the SQL time summed over its statements and the
statement count. Server / SQL is the share of a tool's time that is not the database.

Goals (issue 20): create_task, update_task, complete_task, store_memory, list_tasks (20
rows), get_task, get_project and resume_session within 2x of get_context's p50,
search_memory (query embedding included) within 3x; server time within 1.5x of SQL
time. With `--big N` the same figures are printed again after the organization gets N
more tasks and N more memories in the same project, so cost that grows with the
organization shows.

store_memory's embedding runs after commit in a background thread of the server:
the bench waits after each store_memory call, so that thread does not run during the
next tool's call (its cost is bench_embeddings.py's subject).

With `--profile TOOL[,TOOL]` it then calls each named tool alone for `--profile-seconds`
while py-spy samples the server, writes the stacks to var/bench/profile-TOOL.txt
(collapsed: flamegraph.pl or speedscope read them) and prints where the CPU went, by
package and by function (own time). Time spent waiting (on the database's answer, for
one) is not CPU and does not show.

Run: `.venv/bin/python bench/bench_tools.py [--rounds 300] [--big 100000] [--profile
create_task]`. It uses its own embedded database (orchestra_bench) and a free port on
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvloop
from bench_mcp import ENV, PY, TOKEN_RE, Target, free_port, manage, percentile, start

ROOT = Path(__file__).resolve().parent.parent
ENV["MCP_SERVER_TIMING"] = "1"

GOALS = {"search_memory": 3.0}
DEFAULT_GOAL = 2.0
SERVER_OVER_SQL_GOAL = 1.5


@dataclass
class Figures:
    """What the calls of one tool saw (seconds)."""

    client: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    handler: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    def record(self, elapsed: float, timing: str) -> None:
        self.client.append(elapsed)
        parts = parse_server_timing(timing)
        self.total.append(parts.get("total", (0.0, ""))[0] / 1000)
        self.handler.append(parts.get("handler", (0.0, ""))[0] / 1000)
        self.sql.append(parts.get("db", (0.0, ""))[0] / 1000)
        self.statements.append(int(parts["db"][1].split()[0]) if "db" in parts else 0)


def parse_server_timing(header: str) -> dict[str, tuple[float, str]]:
    """{"total": (ms, ""), "db": (ms, "5 statements"), ...} from a Server-Timing header."""
    parts: dict[str, tuple[float, str]] = {}
    for metric in filter(None, (m.strip() for m in header.split(","))):
        name, *params = (p.strip() for p in metric.split(";"))
        values = dict(p.split("=", 1) for p in params if "=" in p)
        parts[name] = (float(values.get("dur", 0)), values.get("desc", "").strip('"'))
    return parts


class Client:
    """One MCP session on one connection; `call` raises on any error answer."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.request_id = 1

    async def open(self) -> None:
        self.connection, self.session = await self.target.open()

    async def call(self, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], float, str]:
        self.request_id += 1
        body = orjson.dumps(
            {
                "jsonrpc": "2.0",
                "id": self.request_id,
                "method": "tools/call",
                "params": {"name": tool, "arguments": arguments},
            }
        )
        request = self.connection.encode(self.target.path, self.session, body)
        started = time.perf_counter()
        response = await self.connection.send(request)
        elapsed = time.perf_counter() - started
        message = orjson.loads(response.body)
        result = message.get("result") or {}
        if response.status != 200 or "error" in message or result.get("isError"):
            raise RuntimeError(f"{tool} failed ({response.status}): {response.body[:300]!r}")
        return result.get("structuredContent") or {}, elapsed, response.headers.get("server-timing", "")


@dataclass
class Workload:
    """What each round calls: arguments that make each call real work."""

    project: str
    session: str
    pool: list[str]  # tasks for update_task and get_task
    to_complete: list[str]  # one fresh task per round for complete_task
    label: str

    def arguments(self, tool: str, n: int) -> dict[str, Any]:
        if tool == "create_task":
            return {"title": f"{self.label} task {n}", "project": self.project, "priority": "high"}
        if tool == "update_task":
            # Each pass over the pool flips every task's priority: every call writes.
            return {"task": self.pool[n % len(self.pool)], "priority": ("low", "high")[n // len(self.pool) % 2]}
        if tool == "complete_task":
            return {"task": self.to_complete[n], "notes": "done in the bench"}
        if tool == "store_memory":
            return {
                "content": f"{self.label} finding {n}: the cache key includes the tenant and the token {n * 7919}",
                "scope": "project",
                "project": self.project,
                "tags": ["bench"],
            }
        if tool == "list_tasks":
            return {"project": self.project, "limit": 20}
        if tool == "get_task":
            return {"task": self.pool[n % len(self.pool)]}
        if tool == "get_project":
            return {"project": self.project}
        if tool == "resume_session":
            return {"session": self.session}
        if tool == "search_memory":
            return {"query": SEARCHES[n % len(SEARCHES)], "project": self.project, "limit": 5}
        return {}


TOOLS = [
    "get_context",
    "create_task",
    "update_task",
    "complete_task",
    "store_memory",
    "list_tasks",
    "get_task",
    "get_project",
    "resume_session",
    "search_memory",
]
SEARCHES = [
    "cache key tenant",
    "why did the deploy fail",
    "token rotation",
    "flaky test in the billing webhook",
    "which index helps the task list",
]


async def prepare(client: Client, project: str, rounds: int, label: str) -> Workload:
    """A project with 30 tasks, 20 memories, a session with its own memories and a pool
    of tasks to complete, all made through the tools as an agent would."""

    async def call(tool: str, **arguments: Any) -> dict[str, Any]:
        return (await client.call(tool, arguments))[0]

    await call("create_project", name=project, description="Where the bench's tools work.")
    pool = [(await call("create_task", title=f"Pooled task {n}", project=project))["id"] for n in range(30)]
    to_complete = [
        (await call("create_task", title=f"Task to complete {n}", project=project))["id"] for n in range(rounds)
    ]
    for n in range(20):
        await call(
            "store_memory", content=f"Seeded fact {n}: the token {n} rotates weekly", scope="project", project=project
        )
    session = (await call("create_session", title="Bench session", goals=["measure"], project=project))["id"]
    for n in range(10):
        await call("store_memory", content=f"Session note {n}", scope="session", session=session)
    await call("log_decision", title="Keep it boring", decision="Plain SQL where it counts.", project=project)
    return Workload(project=project, session=session, pool=pool, to_complete=to_complete, label=label)


async def measure(client: Client, workload: Workload, rounds: int, warmup: int) -> dict[str, Figures]:
    figures = {tool: Figures() for tool in TOOLS}
    for n in range(warmup + rounds):
        for tool in TOOLS:
            _, elapsed, timing = await client.call(tool, workload.arguments(tool, n))
            if n >= warmup:
                figures[tool].record(elapsed, timing)
            if tool == "store_memory":
                await asyncio.sleep(0.15)  # let the server's embedding thread finish
    return figures


def report(title: str, figures: dict[str, Figures]) -> None:
    base = percentile(figures["get_context"].client, 50)
    print(f"\n{title}")
    print(
        f"{'tool':<16}{'p50 ms':>8}{'p95 ms':>8}{'x ctx':>7}{'goal':>6} |{'server':>8}{'handler':>9}{'sql':>7}"
        f"{'stmts':>6}{'srv/sql':>8}"
    )
    for tool, f in figures.items():
        p50 = percentile(f.client, 50)
        ratio = p50 / base
        goal = GOALS.get(tool, DEFAULT_GOAL) if tool != "get_context" else 1.0
        server, handler, sql = (percentile(values, 50) * 1000 for values in (f.total, f.handler, f.sql))
        statements = percentile([float(s) for s in f.statements], 50)
        over = f"{server / sql:>8.1f}" if sql > 0 else f"{'-':>8}"
        mark = " " if ratio <= goal else "!"
        print(
            f"{tool:<16}{p50 * 1000:>8.2f}{percentile(f.client, 95) * 1000:>8.2f}{ratio:>6.1f}{mark}{goal:>6.1f} |"
            f"{server:>8.2f}{handler:>9.2f}{sql:>7.2f}{statements:>6.0f}{over}"
        )
    print(
        "(p50/p95: client-observed; x ctx: p50 over get_context's, '!' past its goal; server: the request's time in"
        " the server; handler: in its worker thread; sql: summed over its statements; srv/sql: server over sql,"
        f" goal {SERVER_OVER_SQL_GOAL})"
    )


async def profile(client: Client, workload: Workload, tool: str, seconds: float, pid: int) -> None:
    """Call `tool` back to back while py-spy samples the server; print where CPU went."""
    output = ROOT / "var" / "bench" / f"profile-{tool}.txt"
    output.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [
            *(str(Path(PY).parent / "py-spy"), "record", "--pid", str(pid), "--duration", str(round(seconds))),
            *("--rate", "400", "--format", "raw", "--output", str(output), "--nonblocking", "--subprocesses", "--gil"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    calls, n = 0, 0
    while spy.poll() is None:
        n += 1
        arguments = workload.arguments(tool, n % len(workload.to_complete))
        if tool == "complete_task":  # each task completes once: make one first
            created, _, _ = await client.call("create_task", {"title": f"To complete {n}", "project": workload.project})
            arguments = {"task": created["id"]}
        await client.call(tool, arguments)
        calls += 1
        if tool == "store_memory":
            await asyncio.sleep(0.15)
    if not output.exists():
        raise RuntimeError(f"py-spy failed: {spy.stderr.read() if spy.stderr else ''}")
    print(f"\nprofile of {tool} ({calls} calls; stacks in {output.relative_to(ROOT)}):")
    by_package, by_function, total = profile_tables(output.read_text())
    for title, table in (("package", by_package), ("function (own time)", by_function)):
        print(f"  by {title}:")
        for name, samples in table[:15]:
            print(f"    {samples / total:>6.1%}  {name}")


def profile_tables(collapsed: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int]:
    """(samples by package of the innermost frame, by innermost function, total)."""
    packages: dict[str, int] = {}
    functions: dict[str, int] = {}
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        leaf = stack.split(";")[-1]
        functions[leaf] = functions.get(leaf, 0) + samples
        package = frame_package(leaf)
        packages[package] = packages.get(package, 0) + samples
    ordered = sorted(packages.items(), key=lambda kv: -kv[1]), sorted(functions.items(), key=lambda kv: -kv[1])
    return ordered[0], ordered[1], max(1, total)


def frame_package(frame: str) -> str:
    """ "django.db" or "psycopg" or "tools" ... for a py-spy frame "name (path:line)"."""
    path = frame.rpartition("(")[2].rstrip(")").rsplit(":", 1)[0]
    if "site-packages/" in path:
        parts = path.split("site-packages/", 1)[1].split("/")
        return ".".join(parts[:2]) if parts[0] == "django" else parts[0]
    if "/lib/python" in path:
        return "stdlib " + path.rsplit("/", 1)[-1].removesuffix(".py")
    relative = path.removeprefix(str(ROOT) + "/")
    return relative.split("/")[0] if "/" in relative else relative


def grow(slug: str, project: str, count: int) -> None:
    """`count` more tasks and memories in `project` (bench/seed_org.py)."""
    env = {**ENV, "BENCH_ORG": slug, "BENCH_PROJECT": project, "BENCH_ROWS": str(count)}
    script = (ROOT / "bench" / "seed_org.py").read_text()
    subprocess.run([PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300, help="calls of each tool that are timed")
    parser.add_argument("--warmup", type=int, default=20, help="rounds before timing starts")
    parser.add_argument("--big", type=int, default=0, help="then grow the organization by this many tasks and memories")
    parser.add_argument("--profile", default="", help="tools to profile with py-spy, comma-separated")
    parser.add_argument("--profile-seconds", type=float, default=15)
    args = parser.parse_args()

    print("preparing the bench database ...", flush=True)
    manage("migrate", "--verbosity", "0")
    slug = f"tools{int(time.time())}"
    manage("createorganization", "Bench tools", "--owner", f"{slug}@bench.local", "--slug", slug)
    token = TOKEN_RE.findall(manage("createtoken", "--org", slug, "--user", f"{slug}@bench.local"))[0]
    port = free_port()
    serve = [PY, "manage.py", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]
    process = start(serve, f"http://127.0.0.1:{port}/healthz")
    auth = {"Authorization": f"Bearer {token}"}
    target = Target("orchestra", f"http://127.0.0.1:{port}/mcp", auth, "", {}, process.pid)
    try:
        rounds_needed = args.warmup + args.rounds

        async def run(label: str) -> tuple[Workload, dict[str, Figures]]:
            client = Client(target)
            await client.open()
            workload = await prepare(client, f"{slug}-{label}", rounds_needed, label)
            return workload, await measure(client, workload, args.rounds, args.warmup)

        workload, small = uvloop.run(run("small"))
        report(f"a small organization ({args.rounds} rounds, one client)", small)
        for tool in filter(None, args.profile.split(",")):

            async def profiled(tool: str = tool) -> None:
                client = Client(target)
                await client.open()
                await profile(client, workload, tool, args.profile_seconds, process.pid)

            uvloop.run(profiled())
        if args.big:
            print(f"\ngrowing the project by {args.big:,} tasks and {args.big:,} memories ...", flush=True)
            grow(slug, workload.project, args.big)
            # A server that ran while the organization grew has current per-process
            # caches (search's keyword statistics are refreshed every ten minutes; one
            # taken before the growth would misjudge every word's rarity).
            stop(process)
            process = start(serve, f"http://127.0.0.1:{port}/healthz")
            target = Target("orchestra", f"http://127.0.0.1:{port}/mcp", auth, "", {}, process.pid)

            async def again() -> dict[str, Figures]:
                client = Client(target)
                await client.open()
                fresh = await prepare(client, f"{slug}-again", rounds_needed, "again")
                # The same project as before, now big; fresh tasks to complete.
                big_workload = Workload(
                    project=workload.project,
                    session=workload.session,
                    pool=workload.pool,
                    to_complete=fresh.to_complete,
                    label="big",
                )
                return await measure(client, big_workload, args.rounds, args.warmup)

            report(f"the same project with {args.big:,} more tasks and memories", uvloop.run(again()))
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.chdir(ROOT)
    main()
