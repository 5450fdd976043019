"""The project tools: behaviour, isolation, bad input, audit."""

from __future__ import annotations

import pytest

from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.projects.models import Project


def test_create_get_list_update_archive(call, alice_id, acme) -> None:
    created = ok(
        call(alice_id, "create_project", name="Apollo Program", description="To the moon", settings={"a": {"b": 1}})
    )
    assert created["slug"] == "apollo-program" and created["status"] == "active"
    second = ok(call(alice_id, "create_project", name="Apollo Program"))
    assert second["slug"] == "apollo-program-2"

    by_slug = ok(call(alice_id, "get_project", project="apollo-program"))
    by_id = ok(call(alice_id, "get_project", project=created["id"]))
    assert by_slug["id"] == by_id["id"] == created["id"]
    # Zeros are left out: a new project's counts are all zero.
    assert by_slug["stats"] == {}
    assert [a["type"] for a in by_slug["recent_activity"]] == ["project.created"]

    updated = ok(call(alice_id, "update_project", project="apollo-program", settings={"a": {"c": 2}, "d": 3}))
    assert updated["settings"] == {"a": {"b": 1, "c": 2}, "d": 3}
    removed = ok(call(alice_id, "update_project", project="apollo-program", settings={"d": None}))
    assert removed["settings"] == {"a": {"b": 1, "c": 2}}
    replaced = ok(call(alice_id, "update_project", project="apollo-program", settings={"x": 1}, replace_settings=True))
    assert replaced["settings"] == {"x": 1}

    archived = ok(call(alice_id, "archive_project", project="apollo-program"))
    assert archived["status"] == "archived" and archived["archived_at"]
    active = [p["slug"] for p in ok(call(alice_id, "list_projects"))["items"]]
    assert active == ["apollo-program-2"]
    assert [p["slug"] for p in ok(call(alice_id, "list_projects", status="archived"))["items"]] == ["apollo-program"]
    assert len(ok(call(alice_id, "list_projects", status="all"))["items"]) == 2
    restored = ok(call(alice_id, "update_project", project="apollo-program", status="active"))
    assert restored["status"] == "active" and "archived_at" not in restored


def test_every_change_writes_one_activity_row(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="P"))
    ok(call(alice_id, "update_project", project="p", name="P2"))
    ok(call(alice_id, "archive_project", project="p"))
    ok(call(alice_id, "archive_project", project="p"))  # no change, no row
    ok(call(alice_id, "list_projects"))  # reads write nothing
    rows = Activity.unscoped.filter(organization=acme).order_by("created_at")
    assert [r.type for r in rows] == ["project.created", "project.updated", "project.archived"]
    first = rows[0]
    assert first.actor_user_id == alice_id.user_id and first.token_id == alice_id.token_id
    assert first.tool == "create_project" and first.target_type == "project"


def test_list_pages_with_a_keyset_cursor(call, alice_id, acme, django_assert_max_num_queries) -> None:
    for n in range(7):
        ok(call(alice_id, "create_project", name=f"Project {n}"))
    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(6):
            page = ok(call(alice_id, "list_projects", limit=3, cursor=cursor))
        seen += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Project {n}" for n in reversed(range(7))]
    assert error_code(call(alice_id, "list_projects", cursor="!!bad!!")) == "invalid_arguments"


def test_another_organization_cannot_reach_projects(call, alice_id, charlie_id, acme, globex) -> None:
    mine = ok(call(alice_id, "create_project", name="Secret"))
    for ref in (mine["id"], "secret"):
        missing = call(charlie_id, "get_project", project=ref)
        assert error_code(missing) == "not_found"
        assert missing.structured["error"]["message"] == f"project not found: {ref}"
        assert error_code(call(charlie_id, "update_project", project=ref, name="pwned")) == "not_found"
        assert error_code(call(charlie_id, "archive_project", project=ref)) == "not_found"
    assert ok(call(charlie_id, "list_projects"))["items"] == []
    with tenant_scope(acme):
        assert Project.objects.get().name == "Secret"


def test_test_token_never_sees_live_data(call, alice, acme, alice_id, issue_token) -> None:
    from accounts.auth import authenticate_token

    ok(call(alice_id, "create_project", name="Live one"))
    sandbox = authenticate_token(issue_token(alice, acme, mode="test"))
    assert ok(call(sandbox, "list_projects"))["items"] == []
    assert error_code(call(sandbox, "get_project", project="live-one")) == "not_found"
    ok(call(sandbox, "create_project", name="Sandbox one"))
    assert [p["slug"] for p in ok(call(alice_id, "list_projects"))["items"]] == ["live-one"]
    context = ok(call(sandbox, "get_context"))
    assert context["organization"]["sandbox"] is True and context["token"]["mode"] == "test"


def test_project_restricted_token(call, alice, acme, alice_id, issue_token) -> None:
    from accounts.auth import authenticate_token

    allowed = ok(call(alice_id, "create_project", name="Allowed"))
    ok(call(alice_id, "create_project", name="Other"))
    restricted = authenticate_token(issue_token(alice, acme, project_id=allowed["id"]))
    assert [p["slug"] for p in ok(call(restricted, "list_projects"))["items"]] == ["allowed"]
    assert error_code(call(restricted, "get_project", project="other")) == "not_found"
    assert error_code(call(restricted, "create_project", name="New")) == "permission_denied"
    assert ok(call(restricted, "get_context"))["token"]["project"]["slug"] == "allowed"


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("create_project", {}),
        ("create_project", {"name": ""}),
        ("create_project", {"name": "   "}),
        ("create_project", {"name": "x" * 201}),
        ("create_project", {"name": "ok", "settings": "not an object"}),
        ("create_project", {"name": "ok", "settings": {"big": "x" * 70_000}}),
        ("create_project", {"name": "ok", "unknown": 1}),
        ("update_project", {"project": "p"}),
        ("update_project", {"project": "p", "status": "deleted"}),
        ("update_project", {"project": "p", "name": ""}),
        ("list_projects", {"limit": 0}),
        ("list_projects", {"limit": 101}),
        ("list_projects", {"status": "gone"}),
        ("get_project", {}),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, acme, tool, arguments) -> None:
    ok(call(alice_id, "create_project", name="P"))
    before = (
        Project.unscoped.count(),
        Activity.unscoped.count(),
        list(Project.unscoped.values("name", "settings", "status")),
    )
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == "invalid_arguments"
    assert outcome.structured["error"]["message"]
    assert (
        Project.unscoped.count(),
        Activity.unscoped.count(),
        list(Project.unscoped.values("name", "settings", "status")),
    ) == before


def test_read_only_token_writes_nothing(call, alice, acme, issue_token) -> None:
    from accounts.auth import authenticate_token

    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    assert error_code(call(reader, "create_project", name="X")) == "permission_denied"
    assert not Project.unscoped.exists()
    assert ok(call(reader, "list_projects"))["items"] == []


def _fill(call, who, project: str, n: int) -> None:
    """n rows of every kind that get_project counts, in `project`."""
    for i in range(n):
        task = ok(call(who, "create_task", title=f"T{i}", project=project))
        if i % 2:
            ok(call(who, "complete_task", task=task["id"]))
        ok(call(who, "store_memory", content=f"fact {i} about {project}", scope="project", project=project))
        ok(call(who, "log_decision", title=f"D{i}", decision="yes", project=project, status="accepted"))
        ok(call(who, "create_feature", title=f"F{i}", project=project))
        ok(call(who, "create_spec", title=f"S{i}", project=project, content="body"))
        ok(call(who, "create_agent", name=f"A{i}", project=project))


def test_get_project_stats_count_every_kind_of_row(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="P"))
    ok(call(alice_id, "create_project", name="Other"))
    _fill(call, alice_id, "p", 3)
    _fill(call, alice_id, "other", 1)  # another project's rows are not counted
    stats = ok(call(alice_id, "get_project", project="p"))["stats"]
    assert stats["tasks"]["todo"] == 2 and stats["tasks"]["done"] == 1 and "blocked" not in stats["tasks"]
    assert stats["memories"] == {"total": 3}
    assert stats["decisions"] == {"accepted": 3}
    assert stats["features"] == {"spec": 3}
    assert stats["specs"] == {"draft": 3}
    assert stats["agents"] == 3


def test_get_project_is_a_bounded_number_of_queries(call, alice_id, acme, django_assert_max_num_queries) -> None:
    ok(call(alice_id, "create_project", name="P"))
    with django_assert_max_num_queries(13) as few:
        ok(call(alice_id, "get_project", project="p"))
    _fill(call, alice_id, "p", 8)
    for n in range(5):
        ok(call(alice_id, "update_project", project="p", description=str(n)))
    with django_assert_max_num_queries(len(few.captured_queries)):
        ok(call(alice_id, "get_project", project="p"))


def test_get_context(call, alice_id, acme) -> None:
    context = ok(call(alice_id, "get_context"))
    assert context["organization"]["slug"] == "acme" and "sandbox" not in context["organization"]
    assert context["user"]["email"] == "alice@example.com" and context["user"]["role"] == "owner"
    assert context["token"]["scopes"] == ["read", "write"] and "read_only" not in context["token"]
    # Billing off (no Stripe keys): the unlimited self-hosted plan, usage still counted.
    assert context["plan"]["code"] == "self_hosted" and context["plan"]["name"] == "Self-hosted"
    assert "limits" not in context["plan"]  # a resource not named is unlimited
    assert context["usage"]["members"] == 2 and context["usage"]["tokens"] == 1
    assert "warnings" not in context
