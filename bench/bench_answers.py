"""Answer sizes (not a test): bytes of JSON an agent's context pays for the common calls.

A small, realistic project (5 tasks with descriptions and labels, one assigned, 5
memories, 2 decisions, a session), then each call once through the tool layer; prints
the bytes of each answer as MCP sends it in `structuredContent` (the text block repeats
it). Issue 17's goal is to halve these; this is the yardstick.

Run: `.venv/bin/python bench/bench_answers.py` (`--show` prints each answer too). It uses its own embedded database
(orchestra_bench).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra.settings")
os.environ.setdefault("EMBEDDED_DB_NAME", "orchestra_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402
import orjson  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from accounts.auth import authenticate_token  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.services import organization_create, token_create  # noqa: E402
from tools.mcp.dispatch import call_tool  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    stamp = int(time.time())
    user = User.objects.create_user(f"answers{stamp}@bench.local")
    org = organization_create(name=f"Answers {stamp}", owner=user)
    identity = authenticate_token(token_create(organization=org, user=user, name="bench").raw)

    def call(tool: str, **arguments: object) -> dict[str, Any]:
        outcome = call_tool(tool, arguments, identity)
        if outcome.is_error:
            raise SystemExit(f"{tool}: {outcome.structured}")
        return outcome.structured

    project = call("create_project", name="Checkout revamp", description="Move checkout to the new payment API.")
    agent = call("create_agent", name="Coder", project=project["slug"])
    tasks = [
        call(
            "create_task",
            project=project["slug"],
            title=f"Step {n}: wire the payment form",
            description="Replace the legacy form with the hosted fields; keep the retry logic.",
            labels=["checkout", "payments"],
            priority="high" if n == 1 else "medium",
            **({"assignee": agent["slug"]} if n == 1 else {}),
        )
        for n in range(1, 6)
    ]
    for n in range(5):
        call(
            "store_memory",
            content=f"Fact {n}: the payment provider retries webhooks for 72 hours; handlers must be idempotent.",
            scope="project",
            project=project["slug"],
            tags=["payments"],
        )
    call(
        "log_decision",
        title="Use hosted fields",
        decision="Card data never touches our servers.",
        project=project["slug"],
    )
    call(
        "log_decision",
        title="Retry webhooks",
        decision="Idempotent handlers keyed by event id.",
        project=project["slug"],
    )
    session = call("create_session", title="Wire the form", project=project["slug"], agent=agent["slug"])

    calls = {
        "list_tasks (5 tasks)": lambda: call("list_tasks", project=project["slug"], limit=5),
        "get_task": lambda: call("get_task", task=tasks[0]["id"]),
        "get_next_task": lambda: call("get_next_task", project=project["slug"]),
        "get_project": lambda: call("get_project", project=project["slug"]),
        "get_context": lambda: call("get_context"),
        "list_memories (5)": lambda: call("list_memories", project=project["slug"], limit=5),
        "search_memory (5)": lambda: call("search_memory", query="webhook retries", limit=5),
        "list_decisions (2)": lambda: call("list_decisions", project=project["slug"]),
        "resume_session": lambda: call(
            "resume_session", session=session["session"]["id"] if "session" in session else session["id"]
        ),
    }
    print(f"{'call':<24} {'bytes':>7}")
    total = 0
    for name, run in calls.items():
        answer = orjson.dumps(run())
        size = len(answer)
        if "--show" in sys.argv:
            print(answer.decode())
        total += size
        print(f"{name:<24} {size:>7,}")
    print(f"{'total':<24} {total:>7,}")


if __name__ == "__main__":
    main()
