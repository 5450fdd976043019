"""Claimed work benchmark (not a test): agents racing for tasks with
get_next_task(claim=true), through the tool layer (one transaction per claim, as over MCP).

For 1, 5 and 20 concurrent claimers (threads, each with its own database connection),
a project of --tasks todo tasks is claimed until empty. Prints claims/s, claim latency
p50/p95/p99, and checks that every task was claimed exactly once.

Run: `.venv/bin/python bench/bench_claims.py [--tasks 1000]`. It uses its own embedded
database (orchestra_bench).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra.settings")
os.environ.setdefault("EMBEDDED_DB_NAME", "orchestra_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("MCP_RATE_LIMIT_PER_MINUTE", "100000000")
# A connection for each of 20 claimers: the claims are measured, not waits for the pool.
os.environ.setdefault("DB_POOL_MAX_SIZE", "25")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.auth import authenticate_token  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.services import organization_create, token_create  # noqa: E402
from orchestra.tenancy import tenant_scope  # noqa: E402
from tools.agents.models import Agent  # noqa: E402
from tools.mcp.dispatch import call_tool  # noqa: E402
from tools.projects.models import Project  # noqa: E402
from tools.tasks.models import Task  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_round(slugs: list[str], identity: Any) -> tuple[list[str], list[float], float]:
    """Each agent claims until nothing is left; the ids claimed, each claim's seconds,
    and the round's wall time."""
    latencies: list[float] = []
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(slugs) + 1)

    def work(slug: str) -> None:
        mine, times = [], []
        barrier.wait()
        while True:
            began = time.perf_counter()
            outcome = call_tool("get_next_task", {"agent": slug, "claim": True, "project": "queue"}, identity)
            times.append(time.perf_counter() - began)
            if outcome.is_error:
                raise RuntimeError(outcome.structured)
            task = outcome.structured["task"]
            if task is None:
                break
            mine.append(task["id"])
        with lock:
            claimed.extend(mine)
            latencies.extend(times)
        connection.close()

    threads = [threading.Thread(target=work, args=(slug,)) for slug in slugs]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return claimed, latencies, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    stamp = int(time.time())
    user = User.objects.create_user(f"claims{stamp}@bench.local")
    org = organization_create(name=f"Claims {stamp}", owner=user)
    identity = authenticate_token(token_create(organization=org, user=user, name="bench").raw)
    with tenant_scope(org):
        project = Project.objects.create(organization=org, name="Queue", slug="queue")
        agents = [Agent.objects.create(organization=org, name=f"A{n}", slug=f"a{n}") for n in range(20)]

    print(f"{args.tasks} todo tasks per round; claims through the tool layer", flush=True)
    print(f"{'claimers':>8} {'claims/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  each task once")
    for claimers in (1, 5, 20):
        with tenant_scope(org):
            Task.objects.filter(project=project).delete()
            Task.objects.bulk_create(
                [Task(organization=org, project=project, title=f"task {n}") for n in range(args.tasks)]
            )
        claimed, latencies, elapsed = run_round([agent.slug for agent in agents[:claimers]], identity)
        once = len(claimed) == len(set(claimed)) == args.tasks
        ms = [t * 1000 for t in latencies]
        print(
            f"{claimers:>8} {len(claimed) / elapsed:>9.0f} {statistics.median(ms):>8.2f} "
            f"{percentile(ms, 0.95):>8.2f} {percentile(ms, 0.99):>8.2f}  {'yes' if once else 'NO'}",
            flush=True,
        )
        if not once:
            raise SystemExit(f"claimed {len(claimed)} ({len(set(claimed))} distinct) of {args.tasks}")


if __name__ == "__main__":
    main()
