"""Freshness benchmark (not a test): from store_memory's answer to the memory being
findable by meaning (search_memory with a paraphrase returns it through the vector
half).

Prints p50/p95 of that delay with an idle worker (one store at a time) and under load
(a burst of stores at once, which the worker embeds in batches; read from the rows'
embedding status), for the in-process
worker (the embedded default) and, with `--celery`, for a real Celery worker on Redis
(started here, on its own queue and Redis database). Goal (issue 17): p95 <= 2 s with
an idle worker.

Run: `.venv/bin/python bench/bench_freshness.py [--celery] [--stores 30] [--burst 200]`.
It uses its own embedded database (orchestra_bench_fresh).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CELERY = "--celery" in sys.argv
QUEUE = f"bench-freshness-{os.getpid()}"
if CELERY:
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra.settings")
os.environ.setdefault("EMBEDDED_DB_NAME", "orchestra_bench_fresh")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("MCP_RATE_LIMIT_PER_MINUTE", "100000000")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from accounts.auth import authenticate_token  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.services import organization_create, token_create  # noqa: E402
from memory.embeddings import get_provider  # noqa: E402
from tools.mcp.dispatch import call_tool  # noqa: E402

SUBJECTS = ["checkout", "billing", "search", "auth", "mobile", "reporting", "onboarding", "exports"]
FACTS = [
    ("The {s} service for team {n} caches sessions in Redis because the database was too slow.", "why {n} {s} cache"),
    ("Team {n} ships the {s} release every second Tuesday after QA signs it off.", "how often {n} {s} deploy"),
    ("The {s} API of team {n} rejects bodies over 2 MB with HTTP 413.", "largest {s} request {n} accepts"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def findable(identity: object, memory_id: str, query: str) -> bool:
    items = call_tool("search_memory", {"query": query, "limit": 50}, identity).structured["items"]
    return any(i["id"] == memory_id and "vector" in i["matched"] for i in items)


def wait_until_findable(identity: object, stored: list[tuple[str, str, float]], timeout: float) -> list[float]:
    """Seconds from each store's answer until it was findable by meaning."""
    delays: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(delays) < len(stored) and time.monotonic() < deadline:
        for memory_id, query, answered in stored:
            if memory_id not in delays and findable(identity, memory_id, query):
                delays[memory_id] = time.monotonic() - answered
        time.sleep(0.02)
    missing = len(stored) - len(delays)
    return list(delays.values()) + [float("inf")] * missing


def watch_embedded(stored: list[tuple[str, str, float]], done: threading.Event, timeout: float) -> list[float]:
    """The same for a burst, read from the rows' embedding status while the stores go
    on (a search per row and poll would measure the searches): `stored` grows until
    `done` is set."""
    from django.db import connection

    from memory.models import EmbeddingStatus, Memory

    delays: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            finished = done.is_set()
            answered = {memory_id: at for memory_id, _, at in list(stored)}
            waiting = [memory_id for memory_id in answered if memory_id not in delays]
            if finished and not waiting:
                break
            ready = Memory.unscoped.filter(pk__in=waiting, embedding_status=EmbeddingStatus.READY)
            now = time.monotonic()
            for memory_id in ready.values_list("pk", flat=True):
                delays[str(memory_id)] = now - answered[str(memory_id)]
            time.sleep(0.02)
    finally:
        connection.close()
    return list(delays.values()) + [float("inf")] * (len(stored) - len(delays))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--celery", action="store_true", help="a real Celery worker on Redis")
    parser.add_argument("--stores", type=int, default=30)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    get_provider().embed(["warm up the query side"])
    worker = None
    if args.celery:
        from orchestra.celery import app

        app.conf.task_default_queue = QUEUE
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "orchestra", "worker", "-Q", QUEUE, "-c", "1", "-l", "WARNING"],
            cwd=ROOT,
            env={**os.environ},
        )
        time.sleep(8)  # the worker starts and loads the model (worker_process_init)
    try:
        stamp = int(time.time())
        user = User.objects.create_user(f"fresh{stamp}@bench.local")
        org = organization_create(name=f"Fresh {stamp}", owner=user)
        identity = authenticate_token(token_create(organization=org, user=user, name="bench").raw)
        counter = iter(range(10**6))

        def store() -> tuple[str, str, float]:
            n = next(counter)
            template, query = FACTS[n % len(FACTS)]
            subject = SUBJECTS[n % len(SUBJECTS)]
            outcome = call_tool("store_memory", {"content": template.format(s=subject, n=n)}, identity)
            return outcome.structured["memory"]["id"], query.format(s=subject, n=n), time.monotonic()

        mode = "Celery worker on Redis" if args.celery else "in-process worker"
        idle: list[float] = []
        for _ in range(args.stores):
            idle += wait_until_findable(identity, [store()], timeout=30)
        print(f"{mode}, idle (one store at a time, {args.stores} stores): store -> findable by meaning")
        print(f"  p50 {percentile(idle, 50):.2f} s, p95 {percentile(idle, 95):.2f} s, max {max(idle):.2f} s")
        burst: list[tuple[str, str, float]] = []
        done = threading.Event()
        result: list[list[float]] = []
        watcher = threading.Thread(target=lambda: result.append(watch_embedded(burst, done, timeout=180)))
        watcher.start()
        for _ in range(args.burst):
            burst.append(store())
        done.set()
        watcher.join()
        stored_in = burst[-1][2] - burst[0][2]
        loaded = result[0]
        print(f"{mode}, a burst of {args.burst} stores (stored in {stored_in:.1f} s):")
        print(f"  p50 {percentile(loaded, 50):.2f} s, p95 {percentile(loaded, 95):.2f} s, max {max(loaded):.2f} s")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)


if __name__ == "__main__":
    main()
