"""The activity tools: custom entries, the filtered feed, one entry with its target;
isolation, bad input, query bounds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.auth import authenticate_token
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity


def log(call, identity, type: str = "deploy.done", **kwargs) -> dict:
    return ok(call(identity, "log_activity", type=type, **kwargs))


def test_log_activity_writes_one_custom_entry(call, alice_id, acme) -> None:
    project = ok(call(alice_id, "create_project", name="Apollo"))
    agent = ok(call(alice_id, "create_agent", name="Scout"))
    session = ok(call(alice_id, "create_session", title="Release", project="apollo"))
    before = Activity.unscoped.count()
    entry = log(
        call,
        alice_id,
        "deploy.finished",
        description="Shipped 1.2 to production",
        metadata={"version": "1.2", "hosts": 3},
        agent="scout",
        session=session["id"],
    )
    assert Activity.unscoped.count() == before + 1
    assert entry["type"] == "deploy.finished" and entry["description"] == "Shipped 1.2 to production"
    assert entry["tool"] == "log_activity" and entry["agent_id"] == agent["id"]
    assert entry["session_id"] == session["id"]
    assert entry["project_id"] == project["id"]  # the session's project
    assert "target_type" not in entry and "target_id" not in entry  # empty: left out
    row = Activity.unscoped.get(pk=entry["id"])
    assert row.metadata == {"version": "1.2", "hosts": 3}
    assert row.actor_user_id == alice_id.user_id and row.token_id == alice_id.token_id

    bare = log(call, alice_id, "standup")
    assert not {"project_id", "agent_id", "session_id"} & bare.keys()


@pytest.mark.parametrize(
    "type",
    ["project.created", "task.done", "memory", "agent.x", "session.started", "Deploy", "deploy..x", "-x", "a b", ""],
)
def test_reserved_or_malformed_types_are_refused(call, alice_id, acme, type) -> None:
    outcome = call(alice_id, "log_activity", type=type)
    assert error_code(outcome) == "invalid_arguments"
    assert "type" in outcome.structured["error"]["message"]
    assert not Activity.unscoped.exists()


def test_the_feed_filters_and_orders_newest_first(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    ok(call(alice_id, "create_agent", name="Scout"))
    session = ok(call(alice_id, "create_session", title="Night shift"))
    log(call, alice_id, "build.started", project="apollo")
    log(call, alice_id, "build.finished", project="apollo", agent="scout")
    log(call, alice_id, "build.finished", session=session["id"])

    def types(**filters) -> list[str]:
        return [a["type"] for a in ok(call(alice_id, "list_activities", **filters))["items"]]

    assert types() == [
        "build.finished",
        "build.finished",
        "build.started",
        "session.created",
        "agent.created",
        "project.created",
    ]
    assert types(type="build.finished") == ["build.finished", "build.finished"]
    assert types(project="apollo") == ["build.finished", "build.started", "project.created"]
    assert types(agent="scout") == ["build.finished", "agent.created"]
    assert types(session=session["id"]) == ["build.finished", "session.created"]
    assert types(type="build.finished", project="apollo") == ["build.finished"]

    with tenant_scope(acme):
        rows = list(Activity.objects.order_by("created_at"))
        base = timezone.now() - timedelta(days=10)
        for n, row in enumerate(rows):
            Activity.objects.filter(pk=row.pk).update(created_at=base + timedelta(days=n))
    assert types(since=(base + timedelta(days=4)).isoformat()) == ["build.finished", "build.finished"]
    assert types(until=(base + timedelta(days=1)).isoformat()) == ["project.created"]
    assert types(since=(base + timedelta(days=1)).isoformat(), until=(base + timedelta(days=3)).isoformat()) == [
        "session.created",
        "agent.created",
    ]


def test_list_pages_with_a_keyset_cursor_in_bounded_queries(
    call, alice_id, acme, django_assert_max_num_queries
) -> None:
    ok(call(alice_id, "create_agent", name="Scout"))
    for n in range(9):
        log(call, alice_id, description=f"entry {n}", agent="scout")
    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(6):
            page = ok(call(alice_id, "list_activities", type="deploy.done", agent="scout", limit=4, cursor=cursor))
        seen += [a["description"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"entry {n}" for n in reversed(range(9))]
    with django_assert_max_num_queries(6):
        assert len(ok(call(alice_id, "list_activities", limit=100))["items"]) == 10


def test_get_activity_shows_metadata_and_target(call, alice_id, acme, django_assert_max_num_queries) -> None:
    ok(call(alice_id, "create_project", name="Apollo Program"))
    ok(call(alice_id, "update_project", project="apollo-program", description="moon"))
    ok(call(alice_id, "create_agent", name="Scout"))
    memory = ok(call(alice_id, "store_memory", content="A memory that will be deleted soon."))["memory"]
    custom = log(call, alice_id, metadata={"a": [1, 2]})

    def entry(type: str) -> str:
        return str(Activity.unscoped.get(type=type).pk)

    with django_assert_max_num_queries(5):
        updated = ok(call(alice_id, "get_activity", activity=entry("project.updated")))
    assert updated["metadata"] == {"fields": ["description"]} and updated["tool"] == "update_project"
    assert updated["target"]["type"] == "project" and updated["target"]["label"] == "Apollo Program"
    assert updated["target"]["exists"] is True and updated["token_id"] == str(alice_id.token_id)

    stored = ok(call(alice_id, "get_activity", activity=entry("memory.stored")))
    assert stored["target"] == {
        "type": "memory",
        "id": memory["id"],
        "label": "A memory that will be deleted soon.",
        "exists": True,
    }
    ok(call(alice_id, "delete_memory", memory=memory["id"]))
    gone = ok(call(alice_id, "get_activity", activity=entry("memory.stored")))
    assert gone["target"] == {"type": "memory", "id": memory["id"], "label": None, "exists": False}

    ok(call(alice_id, "delete_agent", agent="scout"))
    deleted_agent = ok(call(alice_id, "get_activity", activity=entry("agent.created")))
    assert deleted_agent["target"]["label"] is None and deleted_agent["target"]["exists"] is False

    mine = ok(call(alice_id, "get_activity", activity=custom["id"]))
    assert mine["metadata"] == {"a": [1, 2]} and "target" not in mine and mine["type"] == "deploy.done"
    for ref in ("nope", "00000000-0000-0000-0000-000000000000"):
        missing = call(alice_id, "get_activity", activity=ref)
        assert error_code(missing) == "not_found"
        assert missing.structured["error"]["message"] == f"activity not found: {ref}"


def test_another_organization_cannot_reach_activity(call, alice_id, charlie_id, acme, globex) -> None:
    ok(call(alice_id, "create_project", name="Secret"))
    ok(call(alice_id, "create_agent", name="Spy"))
    session = ok(call(alice_id, "create_session", title="Hush"))
    entry = log(call, alice_id, project="secret")
    missing = call(charlie_id, "get_activity", activity=entry["id"])
    assert error_code(missing) == "not_found"
    assert missing.structured["error"]["message"] == f"activity not found: {entry['id']}"
    assert ok(call(charlie_id, "list_activities"))["items"] == []
    before = Activity.unscoped.count()
    for argument, ref in (("project", "secret"), ("agent", "spy"), ("session", session["id"])):
        for tool, extra in (("list_activities", {}), ("log_activity", {"type": "x"})):
            outcome = call(charlie_id, tool, **{argument: ref}, **extra)
            assert error_code(outcome) == "not_found"
            assert outcome.structured["error"]["message"] == f"{argument} not found: {ref}"
    assert Activity.unscoped.count() == before
    log(call, charlie_id, "globex.thing")
    assert [a["type"] for a in ok(call(alice_id, "list_activities", type="globex.thing"))["items"]] == []


def test_project_restricted_token_sees_only_its_project(call, alice, acme, alice_id, issue_token) -> None:
    allowed = ok(call(alice_id, "create_project", name="Allowed"))
    ok(call(alice_id, "create_project", name="Other"))
    other_entry = log(call, alice_id, project="other")
    org_entry = log(call, alice_id)
    restricted = authenticate_token(issue_token(alice, acme, project_id=allowed["id"]))
    own = log(call, restricted, "standup.held")
    assert own["project_id"] == allowed["id"]
    feed = ok(call(restricted, "list_activities"))["items"]
    assert feed[0]["id"] == own["id"]
    assert {a["project_id"] for a in feed} == {allowed["id"]}
    assert [a["type"] for a in feed] == ["standup.held", "project.created"]
    for ref in (other_entry["id"], org_entry["id"]):
        assert error_code(call(restricted, "get_activity", activity=ref)) == "not_found"
    assert error_code(call(restricted, "list_activities", project="other")) == "not_found"
    assert error_code(call(restricted, "log_activity", type="x", project="other")) == "not_found"


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("log_activity", {}),
        ("log_activity", {"type": "x" * 81}),
        ("log_activity", {"type": "ok", "metadata": "not an object"}),
        ("log_activity", {"type": "ok", "metadata": {"big": "x" * 17_000}}),
        ("log_activity", {"type": "ok", "description": "x" * 5001}),
        ("log_activity", {"type": "ok", "unknown": 1}),
        ("log_activity", {"type": "ok", "project": ""}),
        ("list_activities", {"limit": 0}),
        ("list_activities", {"limit": 101}),
        ("list_activities", {"since": "yesterday"}),
        ("list_activities", {"cursor": "!!bad!!"}),
        ("list_activities", {"type": "x" * 81}),
        ("get_activity", {}),
        ("get_activity", {"activity": ""}),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, acme, tool, arguments) -> None:
    ok(call(alice_id, "create_project", name="P"))
    before = list(Activity.unscoped.values())
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == "invalid_arguments"
    assert outcome.structured["error"]["message"]
    assert list(Activity.unscoped.values()) == before


def test_a_session_of_another_project_is_refused(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    ok(call(alice_id, "create_project", name="Gemini"))
    session = ok(call(alice_id, "create_session", title="S", project="gemini"))
    before = Activity.unscoped.count()
    outcome = call(alice_id, "log_activity", type="x", project="apollo", session=session["id"])
    assert error_code(outcome) == "invalid_arguments"
    assert Activity.unscoped.count() == before


def test_read_only_token_cannot_log(call, alice, acme, issue_token) -> None:
    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    assert error_code(call(reader, "log_activity", type="x")) == "permission_denied"
    assert not Activity.unscoped.exists()
    assert ok(call(reader, "list_activities"))["items"] == []
