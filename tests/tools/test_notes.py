"""The note tools: writing, links and their resolution, filters and full-text search,
soft delete, isolation, bad input, audit, query bounds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.auth import authenticate_token
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.agents.models import Agent
from tools.notes.models import Note

MISSING = "00000000-0000-4000-8000-000000000000"


def note(call, identity, title: str, **kwargs) -> dict:
    return ok(call(identity, "create_note", title=title, **kwargs))


def test_create_get_update_delete(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    created = note(
        call,
        alice_id,
        "  Release checklist ",
        content="# Steps\n\n1. Tag\n2. Deploy",
        tags=["Release", "ops", "release"],
        links=["https://example.com/runbook", "https://example.com/runbook"],
        project="apollo",
    )
    assert created["title"] == "Release checklist" and created["content"].startswith("# Steps")
    assert created["tags"] == ["ops", "release"]
    assert created["links"] == ["https://example.com/runbook"]  # duplicates dropped
    assert created["project_id"] and created["author_id"] == str(alice_id.user_id)

    got = ok(call(alice_id, "get_note", note=created["id"]))
    assert got["content"] == created["content"] and got["links"] == ["https://example.com/runbook"]

    updated = ok(call(alice_id, "update_note", note=created["id"], content="Done.", tags=["archive"], links=[]))
    assert updated["title"] == "Release checklist" and updated["content"] == "Done."
    assert updated["tags"] == ["archive"] and "links" not in updated
    # Answers say when to the second; the row keeps the exact moment it changed.
    row = Note.unscoped.get(pk=created["id"])
    assert updated["updated_at"] >= created["updated_at"] and row.updated_at > row.created_at
    assert ok(call(alice_id, "update_note", note=created["id"], title="Old checklist"))["content"] == "Done."

    deleted = ok(call(alice_id, "delete_note", note=created["id"]))
    assert deleted["id"] == created["id"]
    for tool in ("get_note", "update_note", "delete_note"):
        extra = {"title": "back"} if tool == "update_note" else {}
        outcome = call(alice_id, tool, note=created["id"], **extra)
        assert error_code(outcome) == "not_found"
        assert outcome.structured["error"]["message"] == f"note not found: {created['id']}"
    assert ok(call(alice_id, "list_notes"))["items"] == []
    with tenant_scope(acme):
        row = Note.objects.get(pk=created["id"])  # the row stays, for the audit trail
    assert row.deleted_at is not None and row.deleted_by_id == alice_id.user_id


def test_every_change_writes_one_activity_row(call, alice_id, acme) -> None:
    created = note(call, alice_id, "N")
    ok(call(alice_id, "update_note", note=created["id"], content="c"))
    ok(call(alice_id, "get_note", note=created["id"]))  # reads write nothing
    ok(call(alice_id, "list_notes"))
    ok(call(alice_id, "delete_note", note=created["id"]))
    rows = list(Activity.unscoped.filter(organization=acme).order_by("created_at"))
    assert [r.type for r in rows] == ["note.created", "note.updated", "note.deleted"]
    assert all(str(r.target_id) == created["id"] and r.target_type == "note" for r in rows)
    assert [r.tool for r in rows] == ["create_note", "update_note", "delete_note"]
    assert rows[0].actor_user_id == alice_id.user_id and rows[0].token_id == alice_id.token_id
    assert rows[1].metadata == {"fields": ["content"]}


def test_links_resolve_within_the_organization(
    call, alice_id, charlie_id, acme, globex, django_assert_max_num_queries
) -> None:
    apollo = ok(call(alice_id, "create_project", name="Apollo"))
    with tenant_scope(acme):
        Agent.objects.create(organization=acme, name="Scout", slug="scout")
        gone = Agent.objects.create(organization=acme, name="Gone", slug="gone", deleted_at=timezone.now())
    session = ok(call(alice_id, "create_session", title="Sprint 4"))
    memory = ok(call(alice_id, "store_memory", content="Staging needs a VPN."))["memory"]
    other = note(call, alice_id, "Other note")
    dropped = note(call, alice_id, "Dropped note")
    ok(call(alice_id, "delete_note", note=dropped["id"]))
    spec = ok(call(alice_id, "create_spec", title="Auth spec", project="apollo"))
    feature = ok(call(alice_id, "create_feature", title="Login", project="apollo"))
    decision = ok(call(alice_id, "log_decision", title="Use OAuth", decision="We use OAuth."))
    foreign_project = ok(call(charlie_id, "create_project", name="Globex secret"))
    foreign_note = note(call, charlie_id, "Globex private note")

    links: list[Any] = [
        "https://example.com/design",
        {"type": "project", "id": "apollo"},
        {"type": "project", "id": apollo["id"].upper()},
        {"type": "agent", "id": "scout"},
        {"type": "agent", "id": str(gone.pk)},
        {"type": "session", "id": session["id"]},
        {"type": "memory", "id": memory["id"]},
        {"type": "note", "id": other["id"]},
        {"type": "note", "id": dropped["id"]},
        {"type": "note", "id": foreign_note["id"]},
        {"type": "project", "id": foreign_project["id"]},
        {"type": "project", "id": "globex-secret"},
        {"type": "task", "id": MISSING},
        {"type": "decision", "id": decision["id"]},
        {"type": "decision", "id": MISSING},
        {"type": "spec", "id": spec["slug"]},
        {"type": "spec", "id": "no-such-spec"},
        {"type": "feature", "id": feature["slug"]},
        {"type": "decision", "id": "use-oauth"},  # decisions have no slugs
        {"type": "session", "id": "not-a-uuid"},
    ]
    created = note(call, alice_id, "Hub", links=links)
    assert created["links"] == links  # stored as given

    # One query per referenced type (nine here), whatever the number of links.
    with django_assert_max_num_queries(11):
        got = ok(call(alice_id, "get_note", note=created["id"]))["links"]
    assert got[0] == "https://example.com/design"
    resolved = [(link["type"], link["label"], link["exists"]) for link in got[1:]]
    assert resolved == [
        ("project", "Apollo", True),
        ("project", "Apollo", True),
        ("agent", "Scout", True),
        ("agent", None, False),  # soft-deleted
        ("session", "Sprint 4", True),
        ("memory", "Staging needs a VPN.", True),
        ("note", "Other note", True),
        ("note", None, False),  # soft-deleted
        ("note", None, False),  # another organization's: never its title
        ("project", None, False),
        ("project", None, False),
        ("task", None, False),
        ("decision", "Use OAuth", True),
        ("decision", None, False),
        ("spec", "Auth spec", True),
        ("spec", None, False),
        ("feature", "Login", True),
        ("decision", None, False),
        ("session", None, False),
    ]
    assert [link["id"] for link in got[1:]] == [link["id"] for link in links[1:]]

    # And the other way round: charlie's note pointing at Acme's rows learns nothing.
    spy = note(
        call, charlie_id, "Spy", links=[{"type": "note", "id": other["id"]}, {"type": "project", "id": "apollo"}]
    )
    spied = ok(call(charlie_id, "get_note", note=spy["id"]))["links"]
    assert [(link["label"], link["exists"]) for link in spied] == [(None, False), (None, False)]


def test_task_links_resolve_while_the_task_lives(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    live = ok(call(alice_id, "create_task", title="Ship it", project="apollo"))
    dropped = ok(call(alice_id, "create_task", title="Dropped", project="apollo"))
    ok(call(alice_id, "delete_task", task=dropped["id"]))
    hub = note(
        call, alice_id, "Tasks", links=[{"type": "task", "id": live["id"]}, {"type": "task", "id": dropped["id"]}]
    )
    links = ok(call(alice_id, "get_note", note=hub["id"]))["links"]
    assert [(link["label"], link["exists"]) for link in links] == [("Ship it", True), (None, False)]


def test_list_filters_search_and_pages(call, alice_id, acme, django_assert_max_num_queries) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    ok(call(alice_id, "create_project", name="Gemini"))
    deploy = note(call, alice_id, "Deploying", content="We deploy with blue-green switches.", tags=["ops"])
    rollback = note(call, alice_id, "Rollbacks", content="Rolling back takes minutes.", project="apollo")
    retro = note(call, alice_id, "Retro", content="x" * 1000, tags=["team", "ops"], project="gemini")
    gone = note(call, alice_id, "Deleted deploy note", content="deploy", tags=["ops"])
    ok(call(alice_id, "delete_note", note=gone["id"]))

    def ids(**filters) -> list[str]:
        return [n["id"] for n in ok(call(alice_id, "list_notes", **filters))["items"]]

    assert ids() == [retro["id"], rollback["id"], deploy["id"]]
    assert ids(tag="OPS") == [retro["id"], deploy["id"]]
    assert ids(project="apollo") == [rollback["id"]]
    assert ids(search="deployment") == [deploy["id"]]  # stemmed, title and content
    assert ids(search="rolling minutes") == [rollback["id"]]
    assert ids(search="retro") == [retro["id"]]
    assert ids(search="deploy", tag="team") == []

    items = ok(call(alice_id, "list_notes", project="gemini"))["items"]
    assert items[0]["excerpt"] == "x" * 280 and "content" not in items[0]

    with tenant_scope(acme):
        Note.objects.filter(pk=deploy["id"]).update(created_at=timezone.now() - timedelta(days=10))
        Note.objects.filter(pk=rollback["id"]).update(updated_at=timezone.now() - timedelta(days=5))
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()
    three_days_ago = (timezone.now() - timedelta(days=3)).isoformat()
    assert ids(since=week_ago) == [retro["id"], rollback["id"]]
    assert ids(until=week_ago) == [deploy["id"]]
    assert ids(updated_since=three_days_ago) == [retro["id"], deploy["id"]]
    assert ids(updated_until=three_days_ago) == [rollback["id"]]

    for n in range(5):
        note(call, alice_id, f"Page {n}", content="y" * 60_000)
    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(2):
            page = ok(call(alice_id, "list_notes", limit=3, cursor=cursor))
        seen += [n["title"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Page {n}" for n in reversed(range(5))] + ["Retro", "Rollbacks", "Deploying"]


def test_another_organization_cannot_reach_notes(call, alice_id, charlie_id, acme, globex) -> None:
    mine = note(call, alice_id, "Acme secret", content="launch codes", tags=["secret"])
    for ref in (mine["id"], MISSING):
        for tool, extra in (("get_note", {}), ("update_note", {"title": "pwned"}), ("delete_note", {})):
            outcome = call(charlie_id, tool, note=ref, **extra)
            assert error_code(outcome) == "not_found"
            assert outcome.structured["error"]["message"] == f"note not found: {ref}"
    assert ok(call(charlie_id, "list_notes"))["items"] == []
    assert ok(call(charlie_id, "list_notes", search="launch codes"))["items"] == []
    assert ok(call(charlie_id, "list_notes", tag="secret"))["items"] == []
    with tenant_scope(acme):
        row = Note.objects.get()
    assert row.title == "Acme secret" and row.deleted_at is None


def test_project_restricted_token(call, alice, acme, alice_id, issue_token) -> None:
    apollo = ok(call(alice_id, "create_project", name="Apollo"))
    ok(call(alice_id, "create_project", name="Gemini"))
    elsewhere = note(call, alice_id, "Gemini note", project="gemini")
    unfiled = note(call, alice_id, "Organization note")
    restricted = authenticate_token(issue_token(alice, acme, project_id=apollo["id"]))
    made = note(call, restricted, "Scoped")
    assert made["project_id"] == apollo["id"]
    for ref in (elsewhere["id"], unfiled["id"]):
        assert error_code(call(restricted, "get_note", note=ref)) == "not_found"
    assert [n["id"] for n in ok(call(restricted, "list_notes"))["items"]] == [made["id"]]
    assert error_code(call(restricted, "create_note", title="x", project="gemini")) == "not_found"
    linked = note(call, restricted, "Links", links=[{"type": "project", "id": "gemini"}])
    assert ok(call(restricted, "get_note", note=linked["id"]))["links"][0]["exists"] is False


def test_read_only_token_writes_nothing(call, alice, acme, alice_id, issue_token) -> None:
    mine = note(call, alice_id, "Mine")
    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    assert error_code(call(reader, "create_note", title="X")) == "permission_denied"
    assert error_code(call(reader, "delete_note", note=mine["id"])) == "permission_denied"
    assert ok(call(reader, "get_note", note=mine["id"]))["title"] == "Mine"


@pytest.mark.parametrize(
    "tool, arguments, code",
    [
        ("create_note", {}, "invalid_arguments"),
        ("create_note", {"title": ""}, "invalid_arguments"),
        ("create_note", {"title": "   "}, "invalid_arguments"),
        ("create_note", {"title": "x" * 201}, "invalid_arguments"),
        ("create_note", {"title": "ok", "content": "x" * 65_537}, "invalid_arguments"),
        ("create_note", {"title": "ok", "content": "é" * 40_000}, "invalid_arguments"),  # 80 KB of UTF-8
        ("create_note", {"title": "ok", "tags": ["t"] * 21}, "invalid_arguments"),
        ("create_note", {"title": "ok", "tags": "ops"}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": ["javascript:alert(1)"]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": ["JavaScript://example.com/%0aalert(1)"]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": ["ftp://example.com/file"]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": ["http://"]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": ["example.com"]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": ["https://e.com/" + "a" * 2000]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": [{"type": "planet", "id": "x"}]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": [{"type": "task"}]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": [{"type": "task", "id": "  "}]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": [{"type": "task", "id": ""}]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": [f"https://e.com/{n}" for n in range(21)]}, "invalid_arguments"),
        ("create_note", {"title": "ok", "links": "https://example.com"}, "invalid_arguments"),
        ("create_note", {"title": "ok", "project": "nowhere"}, "not_found"),
        ("update_note", {"note": "NOTE"}, "invalid_arguments"),
        ("update_note", {"note": "NOTE", "title": " "}, "invalid_arguments"),
        ("update_note", {"note": "NOTE", "links": ["javascript:void(0)"]}, "invalid_arguments"),
        ("update_note", {"note": "NOTE", "project": "apollo"}, "invalid_arguments"),
        ("update_note", {"note": MISSING, "title": "t"}, "not_found"),
        ("delete_note", {"note": "not-a-uuid"}, "not_found"),
        ("get_note", {}, "invalid_arguments"),
        ("list_notes", {"limit": 0}, "invalid_arguments"),
        ("list_notes", {"limit": 101}, "invalid_arguments"),
        ("list_notes", {"search": ""}, "invalid_arguments"),
        ("list_notes", {"since": "yesterday"}, "invalid_arguments"),
        ("list_notes", {"cursor": "!!bad!!"}, "invalid_arguments"),
        ("list_notes", {"project": "nowhere"}, "not_found"),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, acme, tool, arguments, code) -> None:
    existing = note(call, alice_id, "Existing", content="kept", links=["https://example.com"])
    arguments = {k: existing["id"] if v == "NOTE" else v for k, v in arguments.items()}

    def snapshot() -> tuple:
        return (
            Activity.unscoped.count(),
            list(Note.unscoped.values("title", "content", "tags", "links", "deleted_at", "updated_at")),
        )

    before = snapshot()
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == code
    assert outcome.structured["error"]["message"]
    assert snapshot() == before


def test_admin_lists_and_shows_notes(call, alice_id, acme) -> None:
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    created = note(call, alice_id, "Visible to operators", content="body", tags=["ops"])
    operator = Client()
    operator.force_login(User.objects.create_superuser("ops@example.com", "pw-ops-123456"))
    listing = operator.get(reverse("admin:notes_note_changelist"))
    assert listing.status_code == 200 and "Visible to operators" in listing.content.decode()
    assert operator.get(reverse("admin:notes_note_change", args=[created["id"]])).status_code == 200
