"""Seed a project with many tasks for bench_mcp.py (run inside `manage.py shell`).

Reads BENCH_TOKEN, BENCH_PROJECT and BENCH_TASKS from the environment and prints the
work session's id last. Every row is made through the tools, as an agent would make
it, so activity rows, indexes and dependencies look like production."""

from __future__ import annotations

import os
import random
import sys
import time

from accounts.auth import authenticate_token
from tools.mcp.dispatch import call_tool

identity = authenticate_token(os.environ["BENCH_TOKEN"])
project = os.environ["BENCH_PROJECT"]
count = int(os.environ.get("BENCH_TASKS", "10000"))
rng = random.Random(7)
PRIORITIES = ["critical", "high", "medium", "medium", "low"]
VERBS = ["Fix", "Add", "Refactor", "Document", "Test", "Profile", "Remove", "Migrate"]
NOUNS = ["login flow", "billing webhook", "search index", "task board", "token admin", "SSE stream", "spec editor"]


def call(tool: str, /, **arguments: object) -> dict:
    outcome = call_tool(tool, arguments, identity)
    if outcome.is_error:
        sys.exit(f"{tool} failed: {outcome.structured}")
    return outcome.structured


call("create_project", name=project)
agent = call("create_agent", name="Bench agent", project=project)["slug"]
ids: list[str] = []
started = time.monotonic()
for n in range(count):
    blocked_by = [rng.choice(ids)] if ids and rng.random() < 0.1 else None
    task = call(
        "create_task",
        title=f"{rng.choice(VERBS)} {rng.choice(NOUNS)} #{n}",
        project=project,
        priority=rng.choice(PRIORITIES),
        labels=[rng.choice(["backend", "frontend", "infra"])],
        blocked_by=blocked_by,
        assignee=agent if rng.random() < 0.3 else None,
    )
    ids.append(task["id"])
    roll = rng.random()
    if roll < 0.3:
        call("complete_task", task=task["id"])
    elif roll < 0.4:
        call("update_task", task=task["id"], status="in_progress")
    if n % 1000 == 999:
        print(f"  {n + 1:,} tasks ({(n + 1) / (time.monotonic() - started):.0f}/s)", file=sys.stderr, flush=True)
for n in range(20):
    call("log_decision", title=f"Decision {n}", decision="We chose the boring option.", project=project)
session = call("create_session", title="Bench session", goals=["ship"], agent=agent, project=project)["id"]
for n in range(20):
    call("store_memory", content=f"Bench finding {n}: the index helps", scope="session", session=session)
print(session)
