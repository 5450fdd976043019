"""Every tool that changes data writes activity rows naming the caller, the token and
the tool, in the same transaction as the change."""

from __future__ import annotations

from tests.tools.test_rest_mcp_parity import STEPS
from tests.tools.world import build_world, in_process_caller
from tools.activity.models import Activity
from tools.mcp.budget import product_tools
from tools.mcp.dispatch import call_tool
from tools.mcp.registry import get_tool

WRITE_TOOLS = {spec.name for spec in product_tools() if not spec.read_only}


def test_every_write_tool_leaves_an_activity_row(alice_id, acme) -> None:
    world = build_world(in_process_caller(alice_id))
    audited: set[str] = set()
    for name, arguments_for in STEPS:
        if name not in WRITE_TOOLS:
            continue
        arguments = arguments_for(world)
        writes_when = get_tool(name).writes_when
        if writes_when is not None and not arguments.get(writes_when):
            continue  # this call only reads (get_next_task without claim)
        before = set(Activity.unscoped.filter(organization=acme).values_list("pk", flat=True))
        outcome = call_tool(name, arguments, alice_id)
        assert not outcome.is_error, (name, outcome.structured)
        new = Activity.unscoped.filter(organization=acme).exclude(pk__in=before)
        assert new.exists(), f"{name} changed data without an activity row"
        for row in new:
            assert row.tool == name and row.token_id == alice_id.token_id, (name, row.type, row.tool)
            assert row.actor_user_id == alice_id.user_id and row.type
        audited.add(name)
    assert audited == WRITE_TOOLS


def test_a_failed_write_leaves_no_activity_row(alice_id, acme) -> None:
    world = build_world(in_process_caller(alice_id))
    count = Activity.unscoped.filter(organization=acme).count()
    # Valid up to the last step: the blocker does not exist, so the whole call rolls back.
    failed = call_tool(
        "create_task",
        {"title": "T", "project": world["project"], "blocked_by": ["00000000-0000-4000-8000-000000000000"]},
        alice_id,
    )
    assert failed.is_error
    assert Activity.unscoped.filter(organization=acme).count() == count
