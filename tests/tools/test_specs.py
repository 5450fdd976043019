"""The spec tools: immutable versions, status changes, isolation, bad input, audit,
query bounds."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from accounts.auth import authenticate_token
from accounts.models import User
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.agents.models import Agent
from tools.specs.models import Spec, SpecVersion

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def apollo(call, alice_id, acme) -> dict[str, Any]:
    return ok(call(alice_id, "create_project", name="Apollo"))


@pytest.fixture
def bob_id(bob, acme, issue_token):
    return authenticate_token(issue_token(bob, acme))


def spec(call, identity, title: str = "Auth spec", project: str = "apollo", **kwargs) -> dict[str, Any]:
    return ok(call(identity, "create_spec", title=title, project=project, **kwargs))


def snapshot() -> tuple[Any, ...]:
    return (
        Activity.unscoped.count(),
        list(Spec.unscoped.order_by("id").values("title", "status", "version")),
        list(SpecVersion.unscoped.order_by("id").values("number", "title", "content", "change_note")),
    )


def test_every_title_or_content_change_is_a_new_version(call, alice_id, bob_id, acme, apollo) -> None:
    with tenant_scope(acme):
        writer = Agent.objects.create(organization=acme, name="Writer", slug="writer")
    created = spec(call, alice_id, " Auth spec ", content="# Auth\n\nEmail only.")
    assert (created["slug"], created["title"], created["status"], created["version"]) == (
        "auth-spec",
        "Auth spec",
        "draft",
        1,
    )
    assert created["project_id"] == apollo["id"]
    assert spec(call, alice_id, "Auth spec", status="review")["slug"] == "auth-spec-2"

    v2 = ok(
        call(
            bob_id,
            "update_spec",
            spec="auth-spec",
            content="# Auth\n\nEmail and GitHub.",
            change_note="Add GitHub sign-in",
            agent="writer",
        )
    )
    assert (v2["version"], v2["title"], v2["status"]) == (2, "Auth spec", "draft")
    v3 = ok(call(alice_id, "update_spec", spec=created["id"], title="Authentication"))
    assert (v3["version"], v3["title"], v3["slug"]) == (3, "Authentication", "auth-spec")  # slugs stay

    # A status change alone is no version.
    approved = ok(call(alice_id, "update_spec", spec="auth-spec", status="approved"))
    assert (approved["version"], approved["status"]) == (3, "approved")
    # Nor is content identical to the latest: such a call changes nothing and writes nothing.
    before = snapshot()
    same = ok(call(alice_id, "update_spec", spec="auth-spec", content="# Auth\n\nEmail and GitHub."))
    assert same["version"] == 3
    assert snapshot() == before
    # Title and content together, with a status: one version, one audit row.
    v4 = ok(call(alice_id, "update_spec", spec="auth-spec", title="Auth", content="Final.", status="review"))
    assert (v4["version"], v4["status"]) == (4, "review")

    latest = ok(call(alice_id, "get_spec", spec="auth-spec"))
    assert (latest["version"], latest["title"], latest["status"]) == (4, "Auth", "review")
    assert latest["shown"]["number"] == 4 and latest["shown"]["content"] == "Final."
    assert [v["number"] for v in latest["versions"]] == [4, 3, 2, 1]
    assert all("content" not in v and "title" not in v for v in latest["versions"])
    second = latest["versions"][2]
    assert second["change_note"] == "Add GitHub sign-in"
    assert second["author_id"] == str(bob_id.user_id) and second["agent_id"] == str(writer.pk)
    assert latest["versions"][3]["author_id"] == str(alice_id.user_id) and latest["versions"][3]["agent_id"] is None

    first = ok(call(alice_id, "get_spec", spec=created["id"], version=1))
    assert first["shown"] == {
        "number": 1,
        "title": "Auth spec",
        "content": "# Auth\n\nEmail only.",
        "author_id": str(alice_id.user_id),
        "agent_id": None,
        "change_note": "",
        "created_at": first["shown"]["created_at"],
    }
    assert first["title"] == "Auth"  # the spec's own fields are the current ones
    renamed = ok(call(alice_id, "get_spec", spec="auth-spec", version=3))["shown"]
    assert (renamed["title"], renamed["content"]) == ("Authentication", "# Auth\n\nEmail and GitHub.")
    missing = call(alice_id, "get_spec", spec="auth-spec", version=5)
    assert error_code(missing) == "not_found" and missing.structured["error"]["message"] == "version not found: 5"


def test_versions_cannot_be_changed(call, alice_id, bob, bob_id, acme, apollo) -> None:
    spec(call, alice_id, "S", content="original")
    ok(call(bob_id, "update_spec", spec="s", content="second"))
    with tenant_scope(acme):
        first = SpecVersion.objects.get(number=1)
        # No tool path: update_spec only inserts, so version 1 still says what it said.
        assert first.content == "original" and first.title == "S"
        # The model refuses to save an existing version...
        first.content = "rewritten"
        with pytest.raises(RuntimeError, match="immutable"):
            first.save()
        # ...and the database refuses any UPDATE of what a version says.
        for change in ({"content": "rewritten"}, {"title": "T"}, {"number": 9}, {"change_note": "n"}):
            with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
                SpecVersion.objects.filter(pk=first.pk).update(**change)
        with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
            SpecVersion.objects.filter(number=2).update(author_id=alice_id.user_id)
    # Deleting an author keeps the versions and only forgets who wrote them.
    User.objects.filter(pk=bob.pk).delete()
    with tenant_scope(acme):
        contents = list(SpecVersion.objects.order_by("number").values_list("content", "author_id"))
    assert contents == [("original", alice_id.user_id), ("second", None)]


def test_every_change_writes_one_activity_row(call, alice_id, acme, apollo) -> None:
    with tenant_scope(acme):
        writer = Agent.objects.create(organization=acme, name="Writer", slug="writer")
    created = spec(call, alice_id, "S", content="a", agent="writer")
    ok(call(alice_id, "update_spec", spec="s", content="b", change_note="Second draft"))
    ok(call(alice_id, "update_spec", spec="s", status="approved"))
    ok(call(alice_id, "update_spec", spec="s", status="approved"))  # no change, no row
    ok(call(alice_id, "get_spec", spec="s"))  # reads write nothing
    ok(call(alice_id, "list_specs", project="apollo"))
    rows = list(Activity.unscoped.filter(organization=acme, target_type="spec").order_by("created_at"))
    assert [(r.type, r.tool) for r in rows] == [
        ("spec.created", "create_spec"),
        ("spec.updated", "update_spec"),
        ("spec.updated", "update_spec"),
    ]
    assert all(str(r.target_id) == created["id"] and str(r.project_id) == created["project_id"] for r in rows)
    assert rows[0].agent_id == writer.pk and rows[0].token_id == alice_id.token_id
    assert rows[1].metadata == {"version": 2, "changed": ["content"]} and rows[1].description == "Second draft"
    assert rows[2].metadata == {"status": {"from": "draft", "to": "approved"}}
    with tenant_scope(acme):
        assert SpecVersion.objects.get(number=1).agent_id == writer.pk


def test_list_filters_and_pages_without_contents(call, alice_id, apollo, django_assert_max_num_queries) -> None:
    ok(call(alice_id, "create_project", name="Gemini"))
    draft = spec(call, alice_id, "Draft one", content="x" * 200_000)
    approved = spec(call, alice_id, "Approved one", status="approved")
    spec(call, alice_id, "Elsewhere", project="gemini")

    def listed(**filters) -> list[str]:
        return [s["slug"] for s in ok(call(alice_id, "list_specs", **filters))["items"]]

    assert listed(project="apollo") == ["approved-one", "draft-one"]
    assert listed(project=apollo["id"], status="approved") == ["approved-one"]
    assert listed(project="apollo", status="archived") == []
    assert listed(project="gemini") == ["elsewhere"]
    item = ok(call(alice_id, "list_specs", project="apollo"))["items"][1]
    assert item["id"] == draft["id"] and "content" not in item and item["version"] == 1
    assert approved["status"] == "approved"

    for n in range(5):
        spec(call, alice_id, f"Page {n}", content="y" * 100_000)
    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(3):
            page = ok(call(alice_id, "list_specs", project="apollo", limit=3, cursor=cursor))
        seen += [s["title"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Page {n}" for n in reversed(range(5))] + ["Approved one", "Draft one"]
    assert error_code(call(alice_id, "list_specs", project="apollo", cursor="!!bad!!")) == "invalid_arguments"


def test_specs_by_status_for_project_stats(call, alice_id, acme, apollo, django_assert_num_queries) -> None:
    from tools.projects.models import Project
    from tools.specs.selectors import specs_by_status

    spec(call, alice_id, "A")
    spec(call, alice_id, "B", status="approved")
    spec(call, alice_id, "C", status="approved")
    with tenant_scope(acme):
        project = Project.objects.get(slug="apollo")
        with django_assert_num_queries(1):
            assert specs_by_status(project) == {"approved": 2, "draft": 1}


def test_get_spec_is_a_bounded_number_of_queries(call, alice_id, acme, apollo, django_assert_max_num_queries) -> None:
    created = spec(call, alice_id, "Long history", content="v1")
    with tenant_scope(acme):
        row = Spec.objects.get()
        SpecVersion.objects.bulk_create(
            SpecVersion(organization=acme, spec=row, number=n, title="Long history", content="z" * 1000 + str(n))
            for n in range(2, 131)
        )
        Spec.objects.filter(pk=row.pk).update(version=130)
    with django_assert_max_num_queries(4):
        latest = ok(call(alice_id, "get_spec", spec=created["id"]))
    assert latest["version"] == 130 and latest["shown"]["content"].endswith("130")
    # The version list is bounded: the newest 100 (numbers are contiguous, so the
    # spec's version says how many there are).
    assert [v["number"] for v in latest["versions"]] == list(range(130, 30, -1))
    with django_assert_max_num_queries(4):
        assert ok(call(alice_id, "get_spec", spec="long-history", version=7))["shown"]["content"].endswith("z7")


def test_another_organization_cannot_reach_specs(call, alice_id, charlie_id, acme, globex, apollo) -> None:
    mine = spec(call, alice_id, "Secret spec", content="launch codes")
    before = snapshot()
    for ref, missing_ref in ((mine["id"], MISSING), ("secret-spec", "no-such-spec")):
        for tool, extra in (("get_spec", {}), ("update_spec", {"content": "pwned"}), ("get_spec", {"version": 1})):
            theirs = call(charlie_id, tool, spec=ref, **extra)
            missing = call(charlie_id, tool, spec=missing_ref, **extra)
            assert error_code(theirs) == error_code(missing) == "not_found"
            assert theirs.structured["error"]["message"] == f"spec not found: {ref}"
            assert missing.structured["error"]["message"] == f"spec not found: {missing_ref}"
    for tool in ("create_spec", "list_specs"):
        extra = {"title": "Steal"} if tool == "create_spec" else {}
        outcome = call(charlie_id, tool, project=apollo["id"], **extra)
        assert error_code(outcome) == "not_found"
        assert outcome.structured["error"]["message"] == f"project not found: {apollo['id']}"
    assert snapshot() == before
    ok(call(charlie_id, "create_project", name="Apollo"))
    assert spec(call, charlie_id, "Secret spec")["slug"] == "secret-spec"  # slugs are per organization
    assert [s["slug"] for s in ok(call(charlie_id, "list_specs", project="apollo"))["items"]] == ["secret-spec"]
    assert ok(call(alice_id, "get_spec", spec="secret-spec"))["shown"]["content"] == "launch codes"


def test_project_restricted_token_sees_only_its_project(call, alice, acme, alice_id, issue_token, apollo) -> None:
    ok(call(alice_id, "create_project", name="Other"))
    spec(call, alice_id, "Mine")
    spec(call, alice_id, "Theirs", project="other")
    restricted = authenticate_token(issue_token(alice, acme, project_id=apollo["id"]))
    assert [s["slug"] for s in ok(call(restricted, "list_specs", project="apollo"))["items"]] == ["mine"]
    assert error_code(call(restricted, "list_specs", project="other")) == "not_found"
    assert error_code(call(restricted, "get_spec", spec="theirs")) == "not_found"
    assert error_code(call(restricted, "update_spec", spec="theirs", content="x")) == "not_found"
    assert ok(call(restricted, "update_spec", spec="mine", content="x"))["version"] == 2


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("create_spec", {"title": "T"}),
        ("create_spec", {"project": "apollo"}),
        ("create_spec", {"title": "", "project": "apollo"}),
        ("create_spec", {"title": "  ", "project": "apollo"}),
        ("create_spec", {"title": "x" * 201, "project": "apollo"}),
        ("create_spec", {"title": "T", "project": "apollo", "status": "final"}),
        ("create_spec", {"title": "T", "project": "apollo", "content": "x" * 262_145}),
        # Within the character bound, beyond 256 KiB of UTF-8.
        ("create_spec", {"title": "T", "project": "apollo", "content": "é" * 140_000}),
        ("create_spec", {"title": "T", "project": "apollo", "version": 2}),
        ("update_spec", {"spec": "s"}),
        ("update_spec", {"spec": "s", "change_note": "why"}),
        ("update_spec", {"spec": "s", "status": "approved", "change_note": "why"}),
        ("update_spec", {"spec": "s", "title": " "}),
        ("update_spec", {"spec": "s", "status": "published"}),
        ("update_spec", {"spec": "s", "content": "é" * 140_000}),
        ("update_spec", {"spec": "s", "content": "new", "change_note": "x" * 501}),
        ("update_spec", {"spec": "s", "content": "new", "version": 1}),
        ("list_specs", {"status": "gone"}),
        ("list_specs", {"project": "apollo", "status": "gone"}),
        ("list_specs", {"project": "apollo", "limit": 0}),
        ("list_specs", {"project": "apollo", "limit": 101}),
        ("get_spec", {}),
        ("get_spec", {"spec": "s", "version": 0}),
        ("get_spec", {"spec": "s", "version": "latest"}),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, apollo, tool, arguments) -> None:
    spec(call, alice_id, "S", content="first")
    before = snapshot()
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == "invalid_arguments"
    assert outcome.structured["error"]["message"]
    assert snapshot() == before


def test_unknown_references_name_their_argument(call, alice_id, apollo) -> None:
    spec(call, alice_id, "S")
    before = snapshot()
    for tool, arguments, argument in (
        ("create_spec", {"title": "T", "project": "nope"}, "project"),
        ("create_spec", {"title": "T", "project": "apollo", "agent": "nobody"}, "agent"),
        ("update_spec", {"spec": "s", "content": "new", "agent": MISSING}, "agent"),
        ("update_spec", {"spec": MISSING, "content": "new"}, "spec"),
        ("list_specs", {"project": MISSING}, "project"),
        ("get_spec", {"spec": "s", "version": 2}, "version"),
    ):
        outcome = call(alice_id, tool, **arguments)
        assert error_code(outcome) == "not_found"
        assert outcome.structured["error"]["details"]["argument"] == argument
    assert snapshot() == before


def test_read_only_token_cannot_change_specs(call, alice, acme, alice_id, issue_token, apollo) -> None:
    spec(call, alice_id, "S", content="first")
    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    before = snapshot()
    assert error_code(call(reader, "create_spec", title="X", project="apollo")) == "permission_denied"
    assert error_code(call(reader, "update_spec", spec="s", content="x")) == "permission_denied"
    assert snapshot() == before
    assert ok(call(reader, "get_spec", spec="s"))["shown"]["content"] == "first"
