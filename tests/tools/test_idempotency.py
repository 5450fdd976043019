"""Idempotency keys: every create tool takes one; a retry with the same key and
arguments answers the first result (one row, one audit row), other arguments are an
idempotency_conflict, keys belong to an organization (and a restricted token's
project), last 24 hours, and a failed call leaves its key free."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.auth import authenticate_token
from tests.conftest import error_code, ok
from tests.races import race
from tools.activity.models import Activity
from tools.mcp.budget import product_tools
from tools.mcp.models import IdempotentCall
from tools.mcp.tasks import purge_expired_idempotency_keys
from tools.projects.models import Project
from tools.tasks.models import Task

CREATE_TOOLS = {
    "create_project",
    "create_agent",
    "create_task",
    "create_spec",
    "create_note",
    "create_feature",
    "create_session",
    "log_decision",
    "store_memory",
    "log_activity",
    "create_pr",
}


def test_every_create_tool_and_only_those_take_a_key() -> None:
    with_key = {spec.name for spec in product_tools() if "idempotency_key" in spec.input_schema["properties"]}
    assert with_key == CREATE_TOOLS
    assert {spec.name for spec in product_tools() if spec.creates} == CREATE_TOOLS


def test_a_retry_answers_the_first_result(call, alice_id, acme) -> None:
    first = ok(call(alice_id, "create_project", name="Checkout revamp", idempotency_key="k-1"))
    again = ok(call(alice_id, "create_project", name="Checkout revamp", idempotency_key="k-1"))
    assert again == first and first["slug"] == "checkout-revamp"
    assert Project.unscoped.count() == 1
    assert Activity.unscoped.filter(type="project.created").count() == 1
    # Without a key, the same call makes another (as before).
    assert ok(call(alice_id, "create_project", name="Checkout revamp"))["slug"] == "checkout-revamp-2"


def test_the_same_key_with_other_arguments_is_a_conflict(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo", idempotency_key="k"))
    before = (Project.unscoped.count(), Task.unscoped.count(), Activity.unscoped.count())
    for tool, arguments in (
        ("create_project", {"name": "Hermes"}),
        ("create_task", {"title": "T", "project": "apollo"}),
    ):
        outcome = call(alice_id, tool, idempotency_key="k", **arguments)
        assert error_code(outcome) == "idempotency_conflict"
        assert "create_project" in outcome.structured["error"]["message"]
        assert outcome.http_status == 409
    assert (Project.unscoped.count(), Task.unscoped.count(), Activity.unscoped.count()) == before


def test_keys_belong_to_an_organization_and_a_restricted_tokens_project(
    call, alice, acme, alice_id, charlie_id, globex, issue_token
) -> None:
    apollo = ok(call(alice_id, "create_project", name="Apollo"))
    ok(call(alice_id, "create_project", name="Hermes"))
    mine = ok(call(alice_id, "create_task", title="T", project="hermes", idempotency_key="shared"))
    # Another organization with the same key and arguments gets its own row (and never ours).
    ok(call(charlie_id, "create_project", name="Hermes"))
    theirs = ok(call(charlie_id, "create_task", title="T", project="hermes", idempotency_key="shared"))
    assert theirs["id"] != mine["id"]
    # A token restricted to Apollo does not replay an answer about Hermes.
    restricted = authenticate_token(issue_token(alice, acme, project_id=apollo["id"]))
    outcome = call(restricted, "create_task", title="T", project="hermes", idempotency_key="shared")
    assert error_code(outcome) == "not_found"
    assert (
        ok(call(restricted, "create_task", title="T", project="apollo", idempotency_key="shared"))["project_id"]
        == apollo["id"]
    )


def test_a_failed_call_leaves_its_key_free(call, alice_id, acme) -> None:
    assert error_code(call(alice_id, "create_task", title="T", project="nowhere", idempotency_key="k")) == "not_found"
    ok(call(alice_id, "create_project", name="Apollo"))
    assert ok(call(alice_id, "create_task", title="T", project="apollo", idempotency_key="k"))["title"] == "T"


def test_keys_last_a_day(call, alice_id, acme) -> None:
    first = ok(call(alice_id, "create_project", name="Apollo", idempotency_key="k"))
    IdempotentCall.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    second = ok(call(alice_id, "create_project", name="Apollo", idempotency_key="k"))
    assert second["id"] != first["id"]
    IdempotentCall.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_expired_idempotency_keys() == 1 and not IdempotentCall.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 201])
def test_a_key_is_bounded(call, alice_id, acme, key: str) -> None:
    assert error_code(call(alice_id, "create_project", name="A", idempotency_key=key)) == "invalid_arguments"
    assert not Project.unscoped.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_with_one_key_create_once(call, alice_id, acme) -> None:
    answers = race(*[lambda: call(alice_id, "create_project", name="Raced", idempotency_key="race")] * 4)
    assert len(answers) == 4 and len({ok(answer)["id"] for answer in answers}) == 1
    assert Project.unscoped.count() == 1
