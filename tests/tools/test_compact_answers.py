"""Compact answers (issue 17, docs/decisions/0024): lists return a brief per row, gets
the detail, an empty optional field is left out, and every answer still matches its
tool's output schema."""

from __future__ import annotations

import re
from typing import Any, NotRequired

import jsonschema
import pytest
from typing_extensions import TypedDict

from tests.conftest import ok
from tools.mcp.answers import excerpt, optional_keys, present
from tools.mcp.registry import registry

SECOND = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class _Shape(TypedDict):
    id: str
    note: str
    tags: NotRequired[list[str]]
    count: NotRequired[int]
    flag: NotRequired[bool]
    text: NotRequired[str]


def test_present_leaves_out_only_empty_optional_fields() -> None:
    assert optional_keys(_Shape) == {"tags", "count", "flag", "text"}
    assert present(_Shape, id="1", note="", tags=[], count=0, flag=False, text=None) == {
        "id": "1",
        "note": "",  # required: there even when empty
        "count": 0,  # zero is a value
    }
    assert present(_Shape, id="1", note="n", tags=["a"], flag=True, text="t") == {
        "id": "1",
        "note": "n",
        "tags": ["a"],
        "flag": True,
        "text": "t",
    }


def test_excerpt_is_one_line_cut_at_a_word() -> None:
    assert excerpt("# Title\n\nsome  words") == "# Title some words"
    cut = excerpt("word " * 100, 30)
    assert len(cut) <= 30 and cut.endswith("…") and not cut.endswith(" …")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _empty_optional_fields(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "") -> list[str]:
    """Paths of optional fields that are present but empty, anywhere in an answer."""
    schema = _resolve(schema, root)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        required = set(schema.get("required", ()))
        for key, item in value.items():
            if key not in required and (item in (None, "", [], {}) or item is False):
                found.append(f"{path}{key}")
            if key in schema["properties"]:
                found += _empty_optional_fields(item, schema["properties"][key], root, f"{path}{key}.")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for n, item in enumerate(value):
            found += _empty_optional_fields(item, schema["items"], root, f"{path}{n}.")
    return found


@pytest.fixture
def world(call, alice_id, acme) -> dict[str, Any]:
    project = ok(call(alice_id, "create_project", name="Apollo", description="# Apollo\n\nThe *moon* programme."))
    agent = ok(call(alice_id, "create_agent", name="Coder", project="apollo"))
    bare = ok(call(alice_id, "create_task", title="Bare", project="apollo"))
    full = ok(
        call(
            alice_id,
            "create_task",
            title="Full",
            project="apollo",
            description="All the detail.",
            labels=["x"],
            assignee=agent["slug"],
            blocked_by=[bare["id"]],
        )
    )
    memory = ok(
        call(alice_id, "store_memory", content="Webhooks retry for 72 hours.", scope="project", project="apollo")
    )
    long = ok(call(alice_id, "store_memory", content="long " * 200, scope="project", project="apollo"))
    decision = ok(call(alice_id, "log_decision", title="Hosted fields", decision="Use them. " * 50, project="apollo"))
    session = ok(call(alice_id, "create_session", title="Wire it", project="apollo", agent=agent["slug"]))
    return {
        "project": project,
        "agent": agent,
        "bare": bare,
        "full": full,
        "memory": memory,
        "long": long,
        "decision": decision,
        "session": session,
    }


def test_common_answers_leave_out_empty_fields_and_match_their_schemas(call, alice_id, world) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_context", {}),
        ("get_project", {"project": "apollo"}),
        ("list_projects", {}),
        ("list_tasks", {"project": "apollo"}),
        ("get_task", {"task": world["bare"]["id"]}),
        ("get_task", {"task": world["full"]["id"]}),
        ("get_next_task", {"project": "apollo"}),
        ("update_task", {"task": world["bare"]["id"], "priority": "low"}),
        ("list_memories", {"project": "apollo"}),
        ("get_memory", {"memory": world["memory"]["memory"]["id"]}),
        ("search_memory", {"query": "webhook retries"}),
        ("list_decisions", {}),
        ("get_decision", {"decision": world["decision"]["id"]}),
        ("search_decisions", {"query": "hosted fields"}),
        ("resume_session", {"session": world["session"]["id"]}),
        ("list_sessions", {}),
        ("get_agent", {"agent": world["agent"]["slug"]}),
        ("list_activities", {}),
    ]
    for name, arguments in calls:
        answer = ok(call(alice_id, name, **arguments))
        schema = registry()[name].output_schema
        assert schema is not None
        jsonschema.validate(answer, schema)
        assert _empty_optional_fields(answer, schema, schema) == [], name


def test_lists_are_briefs_and_gets_are_details(call, alice_id, world) -> None:
    rows = {row["title"]: row for row in ok(call(alice_id, "list_tasks", project="apollo"))["items"]}
    assert "description" not in rows["Full"] and "created_by_id" not in rows["Full"]
    assert rows["Full"]["blocked_by"] == [world["bare"]["id"]] and rows["Full"]["labels"] == ["x"]
    assert "blocked_by" not in rows["Bare"] and "assignee_agent_id" not in rows["Bare"]
    detail = ok(call(alice_id, "get_task", task=world["full"]["id"]))
    assert detail["description"] == "All the detail." and detail["history"][0]["type"] == "task.created"
    # A task's own history does not repeat the task as its target.
    assert "target_id" not in detail["history"][0]

    (project_row,) = ok(call(alice_id, "list_projects"))["items"]
    assert project_row["excerpt"] == "# Apollo The *moon* programme." and "description" not in project_row

    memories = {m["id"]: m for m in ok(call(alice_id, "list_memories", project="apollo"))["items"]}
    long_row = memories[world["long"]["memory"]["id"]]
    assert long_row["truncated"] is True and len(long_row["content"]) == 500
    assert "truncated" not in memories[world["memory"]["memory"]["id"]]
    assert (
        ok(call(alice_id, "get_memory", memory=world["long"]["memory"]["id"]))["content"]
        == world["long"]["memory"]["content"]
    )
    assert len(world["long"]["memory"]["content"]) > 500

    (decision_row,) = ok(call(alice_id, "list_decisions"))["items"]
    assert len(decision_row["decision"]) <= 300 and decision_row["decision"].endswith("…")
    assert len(ok(call(alice_id, "get_decision", decision=world["decision"]["id"]))["decision"]) > 300


def test_project_counts_leave_out_zeros_and_show_three_recent_entries(call, alice_id, world) -> None:
    project = ok(call(alice_id, "get_project", project="apollo"))
    assert project["stats"]["tasks"] == {"todo": 2}
    assert "features" not in project["stats"]
    assert len(project["recent_activity"]) == 3
    assert project["recent_activity"][0]["type"] == "session.created"


def test_context_says_only_what_applies(call, alice_id, world) -> None:
    context = ok(call(alice_id, "get_context"))
    assert "sandbox" not in context["organization"] and "read_only" not in context["token"]
    assert "project" not in context["token"] and "warnings" not in context
    # The seeded self-hosted plan has no limits, so none are named.
    assert "limits" not in context["plan"]


def test_timestamps_are_to_the_second(call, alice_id, world) -> None:
    task = ok(call(alice_id, "get_task", task=world["bare"]["id"]))
    assert SECOND.match(task["created_at"]) and SECOND.match(task["history"][0]["created_at"])
