"""Project tallies benchmark (not a test): what the triggers that keep ProjectTally
(decision 0026) cost each write, and what they save each read.

In one project of `--rows` tasks (default 100,000, bulk inserted), interleaved rounds:
- writes, each in its own transaction with its COMMIT: a task's status changed and
  changed back, and a task inserted and deleted, with the triggers on, and with them
  off (`session_replication_role = replica` for that transaction; each round's pair of
  writes nets out, so the tallies stay true);
- reads: the project's live tasks counted by status (what get_project did before), and
  the same figures read from the tallies (what it does now).
Prints p50 per write and per read (µs) and the ratios, and the bulk insert's rows/s.

Run: `.venv/bin/python bench/bench_tallies.py [--rows 100000] [--rounds 500]`. It uses
its own embedded database (orchestra_bench, or EMBEDDED_DB_NAME).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra.settings")
os.environ.setdefault("EMBEDDED_DB_NAME", "orchestra_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import organization_create  # noqa: E402
from orchestra.tenancy import tenant_scope  # noqa: E402
from tools.projects.models import Project  # noqa: E402
from tools.tasks.models import LIVE, Task, TaskStatus  # noqa: E402
from tools.tasks.selectors import task_counts_by_status  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from bench_mcp import percentile  # noqa: E402

BATCH = 2000


@contextmanager
def writing(triggers: bool) -> Iterator[None]:
    """A transaction of its own; without the triggers when `triggers` is False."""
    with transaction.atomic():
        if not triggers:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        yield


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000, help="tasks in the project")
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    stamp = int(time.time())
    owner = User.objects.create_user(f"tallies{stamp}@bench.local")
    org = organization_create(name=f"Tallies {stamp}", owner=owner)
    statuses = list(TaskStatus.values)
    with tenant_scope(org):
        project = Project.objects.create(organization=org, name="Tallied", slug=f"tallied-{stamp}")
        print(f"inserting {args.rows:,} tasks in one project ...", flush=True)
        started = time.perf_counter()
        for first in range(0, args.rows, BATCH):
            Task.objects.bulk_create(
                Task(organization=org, project=project, title=f"task {n}", status=statuses[n % len(statuses)])
                for n in range(first, min(args.rows, first + BATCH))
            )
        elapsed = time.perf_counter() - started
        print(f"  {args.rows / elapsed:,.0f} rows/s (batches of {BATCH:,}, triggers on)")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE tasks_task")
        task = Task.objects.filter(project=project).first()
        assert task is not None

        def flip(triggers: bool) -> None:
            for status in ("done", task.status):
                with writing(triggers):
                    Task.objects.filter(pk=task.pk).update(status=status)

        def insert_and_delete(triggers: bool) -> None:
            with writing(triggers):
                made = Task.objects.create(organization=org, project=project, title="passing through")
            with writing(triggers):
                Task.objects.filter(pk=made.pk).delete()

        def counted() -> dict[str, int]:
            rows = Task.objects.filter(LIVE, project=project).order_by().values_list("status").annotate(n=Count("id"))
            return dict(rows)

        writes = {"update": flip, "insert+delete": insert_and_delete}
        figures: dict[tuple[str, bool], list[float]] = {(kind, on): [] for kind in writes for on in (True, False)}
        reads: dict[str, list[float]] = {"counted by status": [], "read from tallies": []}
        for _ in range(args.rounds):
            for (kind, on), times in figures.items():  # each pair of writes nets out
                times.append(timed(lambda kind=kind, on=on: writes[kind](on)) / 2)
            if len(reads["counted by status"]) < 100:
                reads["counted by status"].append(timed(counted))
                reads["read from tallies"].append(timed(lambda: task_counts_by_status(project)))
        assert task_counts_by_status(project) == {**dict.fromkeys(statuses, 0), **counted()}

    print(f"\nwrites, one row per statement, each statement in its own transaction ({args.rounds} rounds), p50 µs:")
    for kind in writes:
        on, off = percentile(figures[kind, True], 50), percentile(figures[kind, False], 50)
        print(f"  {kind:<14} triggers on {on:8.0f}   off {off:8.0f}   on/off {on / off:.2f}")
    print(f"\nreads of the project's tasks by status ({args.rows:,} tasks), p50 µs:")
    counted_p50, tallied_p50 = (percentile(reads[name], 50) for name in ("counted by status", "read from tallies"))
    print(f"  counted by status {counted_p50:10.0f}\n  read from tallies {tallied_p50:10.0f}")
    print(f"  counted/tallied {counted_p50 / tallied_p50:.0f}x")


if __name__ == "__main__":
    main()
