"""Every product tool answers the same over MCP (`tools/call`) and over REST
(`POST /api/v1/tools/<name>`), both through the real ASGI application.

Two identical worlds are built; each step calls a tool over REST on the first and
over MCP on the second, so writes stay symmetrical. Answers are compared after ids,
timestamps and slugs (which differ between the worlds by construction) are replaced
by placeholders."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests.conftest import asgi_request
from tests.mcp.helpers import auth, initialize, post, rpc
from tests.tools.world import build_world, in_process_caller
from tools.mcp.budget import product_tools

pytestmark = pytest.mark.django_db(transaction=True)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
World = dict[str, str]
Step = tuple[str, Callable[[World], dict[str, Any]]]

# In an order where every step finds what it needs; destructive ones last.
STEPS: list[Step] = [
    ("get_context", lambda w: {}),
    ("list_projects", lambda w: {"status": "all"}),
    ("get_project", lambda w: {"project": w["project"]}),
    ("list_agents", lambda w: {"project": w["project"]}),
    ("get_agent", lambda w: {"agent": w["agent"]}),
    ("list_tasks", lambda w: {"project": w["project"]}),
    ("get_task", lambda w: {"task": w["task"]}),
    ("get_next_task", lambda w: {"project": w["project"]}),
    ("list_memories", lambda w: {"project": w["project"]}),
    ("get_memory", lambda w: {"memory": w["memory"]}),
    ("search_memory", lambda w: {"query": "when do we deploy", "project": w["project"]}),
    ("list_activities", lambda w: {"project": w["project"], "limit": 5}),
    ("get_activity", lambda w: {"activity": w["activity"]}),
    ("list_decisions", lambda w: {"project": w["project"]}),
    ("get_decision", lambda w: {"decision": w["decision"]}),
    ("search_decisions", lambda w: {"query": "postgres", "project": w["project"]}),
    ("list_sessions", lambda w: {"agent": w["agent"]}),
    ("resume_session", lambda w: {"session": w["session"]}),
    ("list_notes", lambda w: {"project": w["project"]}),
    ("get_note", lambda w: {"note": w["note"]}),
    ("list_features", lambda w: {"project": w["project"]}),
    ("get_feature", lambda w: {"feature": w["feature"]}),
    ("list_specs", lambda w: {"project": w["project"]}),
    ("get_spec", lambda w: {"spec": w["spec"]}),
    ("create_project", lambda w: {"name": "Parity", "settings": {"a": 1}}),
    ("update_project", lambda w: {"project": w["project"], "settings": {"b": 2}}),
    ("create_agent", lambda w: {"name": "Helper", "project": w["project"], "memory_scope": "project"}),
    ("update_agent", lambda w: {"agent": w["agent"], "role": "reviewer"}),
    ("create_task", lambda w: {"title": "More", "project": w["project"], "priority": "high"}),
    ("get_next_task", lambda w: {"agent": w["agent"], "claim": True, "project": w["project"]}),
    ("update_task", lambda w: {"task": w["task"], "status": "in_progress"}),
    ("complete_task", lambda w: {"task": w["task"], "notes": "done", "close_subtasks": True}),
    ("store_memory", lambda w: {"content": "Parity holds", "scope": "project", "project": w["project"]}),
    ("log_activity", lambda w: {"type": "custom.parity", "project": w["project"]}),
    ("log_decision", lambda w: {"title": "Parity", "decision": "Same answers", "project": w["project"]}),
    ("update_decision", lambda w: {"decision": w["decision"], "status": "accepted", "comment": "Agreed"}),
    ("create_session", lambda w: {"title": "Second", "project": w["project"]}),
    ("end_session", lambda w: {"session": w["session"], "summary": "Shipped", "state": {"step": 3}}),
    ("create_note", lambda w: {"title": "Another", "content": "Text", "project": w["project"]}),
    ("update_note", lambda w: {"note": w["note"], "title": "Renamed"}),
    ("create_feature", lambda w: {"title": "Second feature", "project": w["project"]}),
    *[("advance_feature", lambda w: {"feature": w["feature"]})] * 3,  # spec -> design -> build -> review
    ("submit_review", lambda w: {"feature": w["feature"], "verdict": "approved", "comments": "Looks fine"}),
    ("advance_feature", lambda w: {"feature": w["feature"]}),
    ("create_spec", lambda w: {"title": "Second spec", "project": w["project"]}),
    ("update_spec", lambda w: {"spec": w["spec"], "content": "# v2", "change_note": "second"}),
    ("list_repos", lambda w: {"project": w["project"]}),
    ("sync_repo", lambda w: {"repository": w["repository"]}),
    ("connect_repo", lambda w: {"project": w["project"], "full_name": w["repository_name"]}),
    (
        "create_pr",
        lambda w: {"repository": w["repository"], "title": "Add the app", "head": "feature", "reviewers": ["hubot"]},
    ),
    ("generate_claude_md", lambda w: {"project": w["project"], "repository": w["repository"], "commit": True}),
    ("get_project", lambda w: {"project": "no-such-project"}),  # errors are the same too
    ("delete_note", lambda w: {"note": w["note"]}),
    ("delete_memory", lambda w: {"memory": w["memory"]}),
    ("delete_task", lambda w: {"task": w["task"], "reason": "parity"}),
    ("clear_memory", lambda w: {"scope": "project", "project": w["project"]}),
    ("delete_agent", lambda w: {"agent": w["agent"], "archive_memory": False}),
    ("archive_project", lambda w: {"project": w["project"]}),
]


# Values that differ between the worlds by construction (slugs get a suffix, cursors
# encode a row's id and time, a commit's id hashes its content, which names the project).
OPAQUE = {"slug": "<slug>", "next_cursor": "<cursor>", "commit_sha": "<sha>"}


def placeholders(world: World) -> dict[str, str]:
    return {value: f"<{kind}>" for kind, value in world.items()}


def normalised(value: Any, known: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: OPAQUE[key] if key in OPAQUE and item is not None else normalised(item, known)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalised(item, known) for item in value]
    if isinstance(value, str):
        for concrete in sorted(known, key=len, reverse=True):  # twin-2 before twin
            value = value.replace(concrete, known[concrete])
        return TIMESTAMP.sub("<time>", UUID.sub("<uuid>", value))
    return value


async def over_rest(token: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(arguments).encode()
    headers = auth(token, **{"content-length": str(len(body))})  # as every HTTP client sends it
    response = await asgi_request("POST", f"/api/v1/tools/{name}", body=body, headers=headers)
    answer: dict[str, Any] = response.json()
    assert (response.status == 200) == ("error" not in answer), (name, response.status, answer)
    return answer


async def over_mcp(token: str, session: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    response = await post(token, session, rpc("tools/call", {"name": name, "arguments": arguments}))
    result = response.json()["result"]
    if result["isError"]:
        # The second block is the machine-readable {"error": ...}, as REST answers it.
        error: dict[str, Any] = json.loads(result["content"][1]["text"])
        return error
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    structured: dict[str, Any] = result["structuredContent"]
    return structured


def test_the_steps_cover_every_product_tool() -> None:
    assert {name for name, _ in STEPS} == {spec.name for spec in product_tools()}


async def test_every_tool_answers_the_same_over_rest_and_mcp(alice_id, alice_token) -> None:
    call = in_process_caller(alice_id)
    first = await sync_to_async(build_world)(call, "Twin")
    second = await sync_to_async(build_world)(call, "Twin")
    known = {**placeholders(first), **placeholders(second)}
    session = await initialize(alice_token)
    failed = []
    for name, arguments_for in STEPS:
        rest = await over_rest(alice_token, name, arguments_for(first))
        mcp = await over_mcp(alice_token, session, name, arguments_for(second))
        assert normalised(rest, known) == normalised(mcp, known), name
        if "error" in rest:
            failed.append((name, rest["error"]["code"]))
    # Every step did its work, except the one that asks for a missing project.
    assert failed == [("get_project", "not_found")]
