"""Every read tool answers in a number of SQL queries that does not grow with the data
or the page size: measured on a small world, then again after many more rows of every
kind, with the largest page."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tools.test_rest_mcp_parity import STEPS
from tests.tools.world import build_world, in_process_caller
from tools.mcp.budget import product_tools
from tools.mcp.dispatch import call_tool

READ_TOOLS = {spec.name: spec for spec in product_tools() if spec.read_only}


def queries_per_tool(identity, world: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, arguments_for in STEPS:
        if name not in READ_TOOLS or name in counts:
            continue
        arguments = arguments_for(world)
        if "limit" in READ_TOOLS[name].input_schema["properties"]:
            arguments["limit"] = READ_TOOLS[name].input_schema["properties"]["limit"].get("maximum", 100)
        with CaptureQueriesContext(connection) as captured:
            outcome = call_tool(name, arguments, identity)
        assert not outcome.is_error, (name, outcome.structured)
        counts[name] = len(captured.captured_queries)
    return counts


def grow(call, world: dict[str, str], start: int, stop: int) -> None:
    """More rows of every kind around the world's rows."""
    project = world["project"]
    if start == 0:
        for _ in range(3):  # spec -> design -> build -> review: a gate that takes reviews
            call("advance_feature", {"feature": world["feature"]})
    for i in range(start, stop):
        call(
            "create_task",
            {"title": f"T{i}", "project": project, "blocked_by": [world["task"]], "parent": world["task"]},
        )
        call("store_memory", {"content": f"fact {i}", "scope": "project", "project": project})
        call("store_memory", {"content": f"session fact {i}", "scope": "session", "session": world["session"]})
        call(
            "log_decision",
            {
                "title": f"D{i}",
                "decision": "yes",
                "project": project,
                "supersedes": world["decision"] if i == 0 else None,
            },
        )
        call("update_decision", {"decision": world["decision"], "comment": f"comment {i}"})
        call("create_note", {"title": f"N{i}", "project": project, "links": [{"type": "task", "id": world["task"]}]})
        call("create_feature", {"title": f"F{i}", "project": project})
        call("submit_review", {"feature": world["feature"], "verdict": "comment", "comments": str(i)})
        call("create_spec", {"title": f"S{i}", "project": project})
        call("update_spec", {"spec": world["spec"], "content": f"v{i}"})
        call("create_agent", {"name": f"A{i}", "project": project})
        call("create_session", {"title": f"Session {i}", "agent": world["agent"], "project": project})
        call("log_activity", {"type": "custom.tick", "project": project, "session": world["session"]})


def test_read_tools_do_not_query_more_as_data_grows(alice_id, acme, capsys) -> None:
    call = in_process_caller(alice_id)
    world = build_world(call)
    grow(call, world, 0, 1)  # one row of every relation: prefetches of empty sets are skipped
    small = queries_per_tool(alice_id, world)
    grow(call, world, 1, 30)
    large = queries_per_tool(alice_id, world)
    with capsys.disabled():
        print("\nqueries per read tool (small world -> 30x more rows, largest page):")
        print(", ".join(f"{name} {small[name]}->{large[name]}" for name in sorted(small)))
    assert set(small) == set(READ_TOOLS)
    grew = {name: (small[name], large[name]) for name in small if large[name] > small[name]}
    assert not grew, grew
    assert max(large.values()) <= 12
