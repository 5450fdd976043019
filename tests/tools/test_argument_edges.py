"""Edges the property-based test found, pinned down as plain examples."""

from __future__ import annotations

from tests.conftest import error_code, ok
from tools.projects.models import Project


def test_nul_characters_are_refused_before_any_write(call, alice_id, acme) -> None:
    outcome = call(alice_id, "create_project", name="bad\x00name")
    assert error_code(outcome) == "invalid_arguments"
    assert "name" in outcome.structured["error"]["message"] and "NUL" in outcome.structured["error"]["message"]
    nested = call(alice_id, "create_project", name="ok", settings={"k": ["fine", "bad\x00"]})
    assert nested.structured["error"]["details"]["problems"][0]["argument"] == "settings.k.1"
    assert not Project.unscoped.exists()


def test_any_iso_offset_is_accepted_and_compared_in_utc(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="P"))
    # +23:30 is valid ISO 8601 but beyond what PostgreSQL accepts as an offset.
    since_far_east = ok(call(alice_id, "list_activities", since="2000-01-01T00:00:00+23:30"))
    assert [a["type"] for a in since_far_east["items"]] == ["project.created"]
    assert ok(call(alice_id, "list_notes", updated_since="9999-12-31T23:59:59-00:00"))["items"] == []
    assert error_code(call(alice_id, "list_memories", since="0001-01-01T00:00:00+01:00")) == "invalid_arguments"


def test_error_messages_stay_on_one_line(call, alice_id, acme) -> None:
    message = call(alice_id, "get_project", project="two\nlines").structured["error"]["message"]
    assert message == 'project not found: "two\\nlines"'
    long = call(alice_id, "get_project", project="x" * 100).structured["error"]["message"]
    assert long == "project not found: " + "x" * 100
