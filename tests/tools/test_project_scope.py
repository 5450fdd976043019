"""A project-restricted token, through every tool: another project's rows (and rows of
no project) answer exactly like missing ones and nothing changes, however they are
reached; what it writes lands in its project. The managers' scope itself is tested in
tests/test_project_scope_managers.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accounts.auth import authenticate_token
from memory.models import Memory
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tests.tools.test_every_tool_properties import (
    NOT_REFERENCES,
    PLAIN_REQUIRED,
    SPECS,
    minimal_arguments,
    missing_like,
    normalised,
)
from tests.tools.world import REFERENCES, build_world, in_process_caller, row_counts
from tools.mcp.dispatch import call_tool


@pytest.fixture
def scoped(alice, acme, alice_id, issue_token) -> dict[str, Any]:
    """Two projects of one organization with a row of every kind each, organization-level
    rows beside them, and a token restricted to the first project."""
    call = in_process_caller(alice_id)
    ours = build_world(call, "Ours")
    theirs = build_world(call, "Theirs")
    org_level = {
        "agent": call("create_agent", {"name": "Everyone's agent"})["slug"],
        "memory": call("store_memory", {"content": "Organization-wide fact"})["memory"]["id"],
        "decision": call("log_decision", {"title": "Org rule", "decision": "Always review"})["id"],
        "note": call("create_note", {"title": "Org note", "content": "for everyone"})["id"],
        "session": call("create_session", {"title": "No project"})["id"],
    }
    project_id = call("get_project", {"project": ours["project"]})["id"]
    restricted = authenticate_token(issue_token(alice, acme, project_id=project_id, name="apollo only"))
    return {"ours": ours, "theirs": theirs, "org_level": org_level, "project_id": project_id, "identity": restricted}


def _foreign_values(scoped: dict[str, Any]) -> set[str]:
    values = set(scoped["theirs"].values()) | set(scoped["org_level"].values())
    values.discard(scoped["org_level"]["agent"])  # organization-level agents stay readable
    return values


@pytest.mark.parametrize(
    "name",
    sorted(name for name, spec in SPECS.items() if set(spec.input_schema.get("properties", {})) & set(REFERENCES)),
)
def test_another_projects_rows_answer_not_found(name, scoped) -> None:
    """Each reference argument given another project's row (every other argument valid
    and pointing at the token's project) answers exactly like a missing row, writes
    nothing, and the same holds for rows of no project (but organization-level agents)."""
    spec = SPECS[name]
    identity = scoped["identity"]
    properties = spec.input_schema.get("properties", {})
    for argument, kind in REFERENCES.items():
        if argument not in properties or (name, argument) in NOT_REFERENCES:
            continue
        foreign_refs = [scoped["theirs"][kind]]
        if kind in scoped["org_level"] and kind != "agent":
            foreign_refs.append(scoped["org_level"][kind])
        for foreign_ref in foreign_refs:
            arguments = minimal_arguments(spec, scoped["ours"])
            arguments[argument] = foreign_ref
            before = row_counts()
            foreign = call_tool(name, arguments, identity)
            assert row_counts() == before, (name, argument, foreign.structured)
            arguments[argument] = missing_like(foreign_ref)
            missing = call_tool(name, arguments, identity)
            assert foreign.is_error and missing.is_error, (name, argument, foreign.structured, missing.structured)
            assert foreign.structured["error"]["code"] == "not_found", (name, argument, foreign.structured)
            assert normalised(foreign.structured, foreign_ref) == normalised(
                missing.structured, missing_like(foreign_ref)
            )


@pytest.mark.parametrize("name", sorted(name for name, spec in SPECS.items() if spec.read_only))
def test_reads_show_nothing_of_other_projects(name, scoped) -> None:
    """Every read tool, called with the token's own rows (or no filter at all), answers
    without a trace of another project's rows or of rows of no project."""
    spec = SPECS[name]
    arguments = minimal_arguments(spec, scoped["ours"])
    outcome = call_tool(name, arguments, scoped["identity"])
    assert not outcome.is_error, (name, outcome.structured)
    answer = json.dumps(outcome.structured)
    leaked = {value for value in _foreign_values(scoped) if value in answer}
    assert not leaked, (name, leaked)


def test_search_and_list_without_filters_keep_to_the_project(call, scoped) -> None:
    identity = scoped["identity"]
    for content in ("Theirs deploys on Fridays", "Organization-wide fact"):
        hits = ok(call(identity, "search_memory", query=content))["items"]
        assert all(h["project_id"] == scoped["project_id"] for h in hits), hits
    listed = ok(call(identity, "list_memories"))["items"]
    assert [m["content"] for m in listed] == ["Ours deploys on Fridays"]


def test_writes_default_to_the_tokens_project(call, scoped) -> None:
    identity = scoped["identity"]
    project_id = scoped["project_id"]
    stored = ok(call(identity, "store_memory", content="Scoped by default"))["memory"]
    assert stored["scope"] == "project" and stored["project_id"] == project_id
    assert ok(call(identity, "create_note", title="N"))["project_id"] == project_id
    assert ok(call(identity, "log_decision", title="D", decision="d"))["project_id"] == project_id
    assert ok(call(identity, "create_session", title="S"))["project_id"] == project_id
    assert ok(call(identity, "create_agent", name="Helper"))["project_id"] == project_id
    assert ok(call(identity, "log_activity", type="custom.x"))["project_id"] == project_id
    # Work of the organization, for a restricted token, is its project's work.
    assert ok(call(identity, "get_next_task"))["task"]["project_id"] == project_id


def test_organization_level_rows_are_out_of_reach(call, scoped) -> None:
    identity = scoped["identity"]
    org = scoped["org_level"]
    # An organization-level agent is readable (tasks are assigned to it), never writable.
    assert "project_id" not in ok(call(identity, "get_agent", agent=org["agent"]))
    assert error_code(call(identity, "update_agent", agent=org["agent"], role="x")) == "permission_denied"
    assert error_code(call(identity, "delete_agent", agent=org["agent"])) == "permission_denied"
    task = ok(call(identity, "create_task", title="For everyone's agent", project=scoped["ours"]["project"]))
    assigned = ok(call(identity, "update_task", task=task["id"], assignee=org["agent"]))
    assert "assignee_agent_id" in assigned
    # Its memories and sessions are not the project's: out of reach, and nothing of
    # no project can be written either.
    before = row_counts()
    assert error_code(call(identity, "store_memory", content="x", scope="organization")) == "permission_denied"
    assert error_code(call(identity, "store_memory", content="x", scope="agent", agent=org["agent"])) == (
        "permission_denied"
    )
    assert row_counts() == before


def test_clear_memory_of_another_projects_session_deletes_nothing(call, alice_id, scoped) -> None:
    theirs = scoped["theirs"]
    ok(call(alice_id, "store_memory", content="Session note", scope="session", session=theirs["session"]))
    before = row_counts()
    outcome = call(scoped["identity"], "clear_memory", scope="session", session=theirs["session"])
    assert error_code(outcome) == "not_found"
    assert row_counts() == before


def test_note_links_to_other_projects_reveal_nothing(call, scoped) -> None:
    theirs = scoped["theirs"]
    links = [{"type": kind, "id": theirs[kind]} for kind in ("task", "decision", "spec", "feature", "agent", "project")]
    links.append({"type": "session", "id": theirs["session"]})
    links.append({"type": "task", "id": missing_like(theirs["task"])})
    note = ok(call(scoped["identity"], "create_note", title="Links", links=links))
    resolved = ok(call(scoped["identity"], "get_note", note=note["id"]))["links"]
    assert all(link["exists"] is False and link["label"] is None for link in resolved), resolved


def test_memory_of_another_projects_agent_or_session_is_unreachable(call, acme, alice_id, scoped) -> None:
    """Agent- and session-scoped memories take their project from their owner."""
    theirs = scoped["theirs"]
    by_agent = ok(call(alice_id, "store_memory", content="agent's", scope="agent", agent=theirs["agent"]))["memory"]
    by_session = ok(call(alice_id, "store_memory", content="s", scope="session", session=theirs["session"]))["memory"]
    ours = ok(call(alice_id, "store_memory", content="mine", scope="agent", agent=scoped["ours"]["agent"]))["memory"]
    identity = scoped["identity"]
    for memory in (by_agent, by_session):
        assert error_code(call(identity, "get_memory", memory=memory["id"])) == "not_found"
        assert error_code(call(identity, "delete_memory", memory=memory["id"])) == "not_found"
    assert ok(call(identity, "get_memory", memory=ours["id"]))["content"] == "mine"
    with tenant_scope(acme):
        assert Memory.objects.filter(pk__in=[by_agent["id"], by_session["id"]]).count() == 2


def test_minimal_arguments_cover_every_required_plain_argument() -> None:
    """The property tests above build arguments from PLAIN_REQUIRED: a new tool with a
    new required argument must be added there, not silently skipped."""
    for spec in SPECS.values():
        for argument in spec.input_schema.get("required", []):
            assert argument in REFERENCES or argument in PLAIN_REQUIRED, (spec.name, argument)


def test_slugs_stay_unique_across_projects_the_token_cannot_see(call, scoped) -> None:
    """Slugs are unique in the organization: a name taken in another project gets a
    suffix, instead of the unseen twin making the create fail."""
    identity = scoped["identity"]
    ours = scoped["ours"]["project"]
    agent = ok(call(identity, "create_agent", name="Theirs agent"))
    assert agent["slug"] == "theirs-agent-2"
    spec = ok(call(identity, "create_spec", title="Theirs spec", project=ours))
    assert spec["slug"] == "theirs-spec-2"
    feature = ok(call(identity, "create_feature", title="Theirs feature", project=ours))
    assert feature["slug"] == "theirs-feature-2"
