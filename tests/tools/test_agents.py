"""The agent tools: behaviour, memory scope in search, isolation, bad input, audit, query bounds."""

from __future__ import annotations

import pytest

from accounts.auth import authenticate_token
from memory.models import Memory
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.agents.models import Agent


def create(call, identity, name: str, **kwargs) -> dict:
    return ok(call(identity, "create_agent", name=name, **kwargs))


def remember(call, identity, content: str, **kwargs) -> dict:
    return ok(call(identity, "store_memory", content=content, **kwargs))["memory"]


def test_create_get_list_update_delete(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    scout = create(
        call,
        alice_id,
        "  Scout Bot ",
        role="researcher",
        skills=["python", " sql ", "python", ""],
        project="apollo",
        description="Finds things.",
        model="claude-sonnet",
    )
    assert scout["slug"] == "scout-bot" and scout["name"] == "Scout Bot"
    assert scout["skills"] == ["python", "sql"] and scout["memory_scope"] == "private"
    assert scout["status"] == "active" and scout["model"] == "claude-sonnet" and scout["role"] == "researcher"
    twin = create(call, alice_id, "Scout Bot", memory_scope="organization")
    assert twin["slug"] == "scout-bot-2" and "project_id" not in twin

    by_slug = ok(call(alice_id, "get_agent", agent="scout-bot"))
    by_id = ok(call(alice_id, "get_agent", agent=scout["id"]))
    assert by_slug["id"] == by_id["id"] == scout["id"]
    assert by_slug["memory"] == {"count": 0, "archived": 0, "newest": []}
    assert [a["type"] for a in by_slug["recent_activity"]] == ["agent.created"]

    in_project = ok(call(alice_id, "list_agents", project="apollo"))["items"]
    assert [a["slug"] for a in in_project] == ["scout-bot"]
    assert [a["slug"] for a in ok(call(alice_id, "list_agents"))["items"]] == ["scout-bot-2", "scout-bot"]

    renamed = ok(
        call(alice_id, "update_agent", agent="scout-bot", name="Ranger", skills=["go"], memory_scope="project")
    )
    assert renamed["name"] == "Ranger" and renamed["slug"] == "scout-bot"
    assert renamed["skills"] == ["go"] and renamed["memory_scope"] == "project"
    assert renamed["role"] == "researcher" and renamed["description"] == "Finds things."
    archived = ok(call(alice_id, "update_agent", agent="scout-bot", status="archived"))
    assert archived["status"] == "archived"
    assert [a["slug"] for a in ok(call(alice_id, "list_agents", status="archived"))["items"]] == ["scout-bot"]
    assert [a["slug"] for a in ok(call(alice_id, "list_agents", status="active"))["items"]] == ["scout-bot-2"]

    deleted = ok(call(alice_id, "delete_agent", agent="scout-bot"))
    assert deleted["agent"]["id"] == scout["id"] and deleted["deleted_at"]
    assert deleted["memories_archived"] == 0 and deleted["memories_deleted"] == 0
    assert [a["slug"] for a in ok(call(alice_id, "list_agents"))["items"]] == ["scout-bot-2"]
    for ref in (scout["id"], "scout-bot"):
        assert error_code(call(alice_id, "get_agent", agent=ref)) == "not_found"
        assert error_code(call(alice_id, "update_agent", agent=ref, role="x")) == "not_found"
        assert error_code(call(alice_id, "delete_agent", agent=ref)) == "not_found"
    # The soft-deleted row stays (its history points at it); its slug is free again.
    with tenant_scope(acme):
        assert Agent.objects.get(pk=scout["id"]).deleted_at is not None
    assert create(call, alice_id, "Scout Bot")["slug"] == "scout-bot"


def test_every_change_writes_one_activity_row_naming_the_agent(call, alice_id, acme) -> None:
    agent = create(call, alice_id, "Scout")
    ok(call(alice_id, "update_agent", agent="scout", role="lead"))
    ok(call(alice_id, "update_agent", agent="scout", status="archived"))
    ok(call(alice_id, "update_agent", agent="scout", status="active"))
    ok(call(alice_id, "list_agents"))  # reads write nothing
    ok(call(alice_id, "get_agent", agent="scout"))
    ok(call(alice_id, "delete_agent", agent="scout"))
    rows = list(Activity.unscoped.filter(organization=acme).order_by("created_at"))
    assert [r.type for r in rows] == [
        "agent.created",
        "agent.updated",
        "agent.archived",
        "agent.restored",
        "agent.deleted",
    ]
    assert {str(r.agent_id) for r in rows} == {agent["id"]} and {str(r.target_id) for r in rows} == {agent["id"]}
    assert rows[0].actor_user_id == alice_id.user_id and rows[0].token_id == alice_id.token_id
    assert rows[0].tool == "create_agent" and rows[0].target_type == "agent"
    assert rows[1].metadata == {"fields": ["role"]}
    # The deleted agent's history stays reachable by its id.
    history = ok(call(alice_id, "list_activities", agent=agent["id"]))["items"]
    assert [a["type"] for a in history] == [r.type for r in reversed(rows)]


def test_get_agent_memory_stats_and_recent_activity(call, alice_id, acme, django_assert_max_num_queries) -> None:
    create(call, alice_id, "Scout")
    create(call, alice_id, "Other")
    long_text = "word " * 100
    mine = [remember(call, alice_id, f"scout note {n} {long_text}", scope="agent", agent="scout") for n in range(7)]
    remember(call, alice_id, "other agent note", scope="agent", agent="other")
    remember(call, alice_id, "an organization note")
    with tenant_scope(acme):
        Memory.objects.filter(pk=mine[0]["id"]).update(archived=True)
    for n in range(12):
        ok(call(alice_id, "log_activity", type="deploy.done", description=f"deploy {n}", agent="scout"))
    ok(call(alice_id, "log_activity", type="deploy.done", description="other's deploy", agent="other"))

    with django_assert_max_num_queries(6):
        detail = ok(call(alice_id, "get_agent", agent="scout"))
    assert detail["memory"]["count"] == 6 and detail["memory"]["archived"] == 1
    newest = detail["memory"]["newest"]
    assert [m["id"] for m in newest] == [m["id"] for m in reversed(mine[2:])]
    assert all(len(m["content"]) == 200 for m in newest) and newest[0]["content"].startswith("scout note 6")
    activity = detail["recent_activity"]
    assert [a["description"] for a in activity] == [f"deploy {n}" for n in reversed(range(2, 12))]


def test_delete_agent_archives_its_memories_out_of_default_search(call, alice_id, acme) -> None:
    create(call, alice_id, "Scout")
    create(call, alice_id, "Other")
    for n in range(3):
        remember(call, alice_id, f"scout zeppelin note {n}", scope="agent", agent="scout")
    kept = remember(call, alice_id, "other zeppelin note", scope="agent", agent="other")
    before = Activity.unscoped.count()

    answer = ok(call(alice_id, "delete_agent", agent="scout"))
    assert answer["memories_archived"] == 3 and answer["memories_deleted"] == 0
    assert Activity.unscoped.count() == before + 1
    found = ok(call(alice_id, "search_memory", query="zeppelin"))["items"]
    assert [m["id"] for m in found] == [kept["id"]]
    with_archived = ok(call(alice_id, "search_memory", query="zeppelin", include_archived=True))["items"]
    assert len(with_archived) == 4
    assert Memory.unscoped.filter(archived=True).count() == 3


def test_delete_agent_can_delete_its_memories(call, alice_id, acme) -> None:
    create(call, alice_id, "Scout")
    create(call, alice_id, "Other")
    for n in range(2):
        remember(call, alice_id, f"scout note {n}", scope="agent", agent="scout")
    kept = remember(call, alice_id, "other note", scope="agent", agent="other")
    team = remember(call, alice_id, "team note")
    answer = ok(call(alice_id, "delete_agent", agent="scout", archive_memory=False))
    assert answer["memories_deleted"] == 2 and answer["memories_archived"] == 0
    assert sorted(str(pk) for pk in Memory.unscoped.values_list("pk", flat=True)) == sorted([kept["id"], team["id"]])
    row = Activity.unscoped.get(type="agent.deleted")
    assert row.metadata == {"memories_archived": 0, "memories_deleted": 2}


def _found(call, identity, agent: str) -> set[str]:
    items = ok(call(identity, "search_memory", query="zeppelin", agent=agent, limit=50))["items"]
    return {i["content"] for i in items}


def test_search_naming_an_agent_honours_its_memory_scope(call, alice_id, acme) -> None:
    """Entries are pending (no embedding in a non-transactional test): found by their words."""
    ok(call(alice_id, "create_project", name="Apollo"))
    ok(call(alice_id, "create_project", name="Gemini"))
    create(call, alice_id, "Scout", project="apollo")
    create(call, alice_id, "Other", project="apollo")
    remember(call, alice_id, "zeppelin: scout's own", scope="agent", agent="scout")
    remember(call, alice_id, "zeppelin: other's own", scope="agent", agent="other")
    remember(call, alice_id, "zeppelin: apollo", scope="project", project="apollo")
    remember(call, alice_id, "zeppelin: gemini", scope="project", project="gemini")
    remember(call, alice_id, "zeppelin: organization")

    # private (the default): its own entries, its project's, the organization's.
    assert _found(call, alice_id, "scout") == {
        "zeppelin: scout's own",
        "zeppelin: apollo",
        "zeppelin: organization",
    }
    ok(call(alice_id, "update_agent", agent="scout", memory_scope="project"))
    assert _found(call, alice_id, "scout") == {"zeppelin: apollo", "zeppelin: organization"}
    ok(call(alice_id, "update_agent", agent="scout", memory_scope="organization"))
    assert _found(call, alice_id, "scout") == {
        "zeppelin: scout's own",
        "zeppelin: other's own",
        "zeppelin: apollo",
        "zeppelin: gemini",
        "zeppelin: organization",
    }
    # Created with a scope, honoured at once.
    create(call, alice_id, "Lead", project="gemini", memory_scope="project")
    assert _found(call, alice_id, "lead") == {"zeppelin: gemini", "zeppelin: organization"}


def test_another_organization_cannot_reach_agents(call, alice_id, charlie_id, acme, globex) -> None:
    ok(call(alice_id, "create_project", name="Secret Project"))
    mine = create(call, alice_id, "Secret Agent", project="secret-project")
    before = Activity.unscoped.count()
    for ref in (mine["id"], "secret-agent"):
        for tool, extra in (("get_agent", {}), ("update_agent", {"role": "pwned"}), ("delete_agent", {})):
            missing = call(charlie_id, tool, agent=ref, **extra)
            assert error_code(missing) == "not_found"
            assert missing.structured["error"]["message"] == f"agent not found: {ref}"
    assert ok(call(charlie_id, "list_agents"))["items"] == []
    assert error_code(call(charlie_id, "list_agents", project="secret-project")) == "not_found"
    assert error_code(call(charlie_id, "create_agent", name="Spy", project="secret-project")) == "not_found"
    assert Activity.unscoped.count() == before
    # Charlie's own agent may share the slug: slugs are per organization.
    assert create(call, charlie_id, "Secret Agent")["slug"] == "secret-agent"
    with tenant_scope(acme):
        row = Agent.objects.get(slug="secret-agent")
        assert row.role == "" and row.deleted_at is None


def test_project_restricted_token(call, alice, acme, alice_id, issue_token) -> None:
    allowed = ok(call(alice_id, "create_project", name="Allowed"))
    ok(call(alice_id, "create_project", name="Other"))
    create(call, alice_id, "Inside", project="allowed")
    create(call, alice_id, "Outside", project="other")
    create(call, alice_id, "Everywhere")
    restricted = authenticate_token(issue_token(alice, acme, project_id=allowed["id"]))
    assert {a["slug"] for a in ok(call(restricted, "list_agents"))["items"]} == {"inside", "everywhere"}
    assert error_code(call(restricted, "get_agent", agent="outside")) == "not_found"
    assert error_code(call(restricted, "delete_agent", agent="outside")) == "not_found"
    everywhere = ok(call(restricted, "get_agent", agent="everywhere"))
    # Its creation row belongs to no project: a restricted token sees only its project's rows.
    assert everywhere["slug"] == "everywhere" and everywhere["recent_activity"] == []
    assert [a["type"] for a in ok(call(alice_id, "get_agent", agent="everywhere"))["recent_activity"]] == [
        "agent.created"
    ]
    assert error_code(call(restricted, "update_agent", agent="everywhere", role="x")) == "permission_denied"
    assert ok(call(restricted, "update_agent", agent="inside", role="x"))["role"] == "x"
    made = create(call, restricted, "New")
    assert made["project_id"] == allowed["id"]
    assert error_code(call(restricted, "create_agent", name="Elsewhere", project="other")) == "not_found"


def test_read_only_token_writes_nothing(call, alice, acme, issue_token) -> None:
    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    assert error_code(call(reader, "create_agent", name="X")) == "permission_denied"
    assert not Agent.unscoped.exists()
    assert ok(call(reader, "list_agents"))["items"] == []


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("create_agent", {}),
        ("create_agent", {"name": ""}),
        ("create_agent", {"name": "   "}),
        ("create_agent", {"name": "x" * 121}),
        ("create_agent", {"name": "ok", "memory_scope": "team"}),
        ("create_agent", {"name": "ok", "memory_scope": "project"}),
        ("create_agent", {"name": "ok", "skills": "python"}),
        ("create_agent", {"name": "ok", "skills": ["s"] * 51}),
        ("create_agent", {"name": "ok", "skills": ["x" * 81]}),
        ("create_agent", {"name": "ok", "role": "x" * 121}),
        ("create_agent", {"name": "ok", "unknown": 1}),
        ("update_agent", {"agent": "scout"}),
        ("update_agent", {"agent": "scout", "name": "  "}),
        ("update_agent", {"agent": "scout", "status": "deleted"}),
        ("update_agent", {"agent": "scout", "memory_scope": "project"}),
        ("delete_agent", {"agent": "scout", "archive_memory": "maybe"}),
        ("delete_agent", {}),
        ("list_agents", {"limit": 0}),
        ("list_agents", {"limit": 101}),
        ("list_agents", {"status": "gone"}),
        ("list_agents", {"cursor": "!!bad!!"}),
        ("get_agent", {}),
        ("get_agent", {"agent": ""}),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, acme, tool, arguments) -> None:
    create(call, alice_id, "Scout", skills=["a"])
    remember(call, alice_id, "scout's note", scope="agent", agent="scout")

    def state() -> tuple:
        return (
            list(Agent.unscoped.order_by("pk").values()),
            Activity.unscoped.count(),
            list(Memory.unscoped.values_list("pk", "archived")),
        )

    before = state()
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == "invalid_arguments"
    assert outcome.structured["error"]["message"]
    assert state() == before


def test_unknown_references_are_not_found(call, alice_id, acme) -> None:
    assert error_code(call(alice_id, "create_agent", name="X", project="nowhere")) == "not_found"
    assert error_code(call(alice_id, "list_agents", project="nowhere")) == "not_found"
    assert error_code(call(alice_id, "get_agent", agent="nobody")) == "not_found"
    assert not Agent.unscoped.exists() and not Activity.unscoped.exists()


def test_list_pages_with_a_keyset_cursor_in_bounded_queries(
    call, alice_id, acme, django_assert_max_num_queries
) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    for n in range(7):
        create(call, alice_id, f"Agent {n}", project="apollo" if n % 2 else None)
    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(6):
            page = ok(call(alice_id, "list_agents", limit=3, cursor=cursor))
        seen += [a["name"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Agent {n}" for n in reversed(range(7))]
    with django_assert_max_num_queries(6):
        in_project = ok(call(alice_id, "list_agents", project="apollo", limit=100))["items"]
    assert [a["name"] for a in in_project] == ["Agent 5", "Agent 3", "Agent 1"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_name_get_distinct_slugs(call, alice_id, acme) -> None:
    import threading

    from django.db import connection

    barrier = threading.Barrier(4)
    outcomes: list = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(call(alice_id, "create_agent", name="Twin"))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ok(o)["slug"] for o in outcomes) == ["twin", "twin-2", "twin-3", "twin-4"]
