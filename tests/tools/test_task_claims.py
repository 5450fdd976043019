"""Claimed work: get_next_task(claim=true) assigns and starts a task atomically (each
task claimed once under any number of concurrent claimers), what may be claimed, the
read-only rule, and stale claims returning to the queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.auth import authenticate_token
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tests.races import race
from tools.activity.models import Activity
from tools.agents.models import Agent
from tools.tasks.models import Task
from tools.tasks.services import claims_release_stale
from tools.tasks.tasks import release_stale_claims


def new(call, identity, title: str, **kwargs: Any) -> dict[str, Any]:
    return ok(call(identity, "create_task", title=title, project=kwargs.pop("project", "apollo"), **kwargs))


def agent(acme, slug: str) -> Agent:
    with tenant_scope(acme):
        return Agent.objects.create(organization=acme, name=slug.title(), slug=slug)


@pytest.fixture
def apollo(call, alice_id) -> dict[str, Any]:
    return ok(call(alice_id, "create_project", name="Apollo"))


def claim(call, identity, who: str, **kwargs: Any) -> dict[str, Any] | None:
    return ok(call(identity, "get_next_task", agent=who, claim=True, **kwargs))["task"]


def activities(task_id: str) -> list[str]:
    return list(Activity.unscoped.filter(target_id=task_id).order_by("created_at").values_list("type", flat=True))


def test_a_claim_assigns_and_starts_the_most_urgent_claimable_task(call, alice_id, acme, apollo, bob) -> None:
    coder, reviewer = agent(acme, "coder"), agent(acme, "reviewer")
    low = new(call, alice_id, "low", priority="low")
    urgent = new(call, alice_id, "urgent", priority="critical")
    theirs = new(call, alice_id, "theirs", priority="critical", assignee="reviewer")
    bobs = new(call, alice_id, "bob's", priority="critical", assignee=bob.email)
    mine = new(call, alice_id, "mine", priority="high", assignee="coder")
    waiting = new(call, alice_id, "waiting", priority="critical", blocked_by=[low["id"]])

    first = claim(call, alice_id, "coder")
    assert first is not None and first["id"] == urgent["id"]
    assert (first["status"], first["assignee_agent_id"]) == ("in_progress", str(coder.pk))
    assert "started_at" in first
    assert activities(urgent["id"]) == ["task.created", "task.claimed"]
    row = Activity.unscoped.get(target_id=urgent["id"], type="task.claimed")
    assert row.agent_id == coder.pk and row.metadata["status"] == {"from": "todo", "to": "in_progress"}

    # Then its own task, then the unassigned one; never another agent's, a member's or a
    # blocked one.
    assert claim(call, alice_id, "coder")["id"] == mine["id"]
    assert claim(call, alice_id, "coder")["id"] == low["id"]
    assert claim(call, alice_id, "coder") is None
    assert claim(call, alice_id, "reviewer")["id"] == theirs["id"]
    assert claim(call, alice_id, "reviewer") is None
    with tenant_scope(acme):
        assert Task.objects.get(pk=bobs["id"]).status == "todo"
        assert Task.objects.get(pk=waiting["id"]).status == "todo"  # its blocker is in progress, not done
        assert Task.objects.get(pk=theirs["id"]).assignee_agent_id == reviewer.pk


def test_claim_needs_an_agent_and_a_token_that_may_write(call, alice, acme, alice_id, apollo, issue_token) -> None:
    agent(acme, "coder")
    task = new(call, alice_id, "T")
    outcome = call(alice_id, "get_next_task", claim=True)
    assert error_code(outcome) == "invalid_arguments"
    assert "claim needs agent" in outcome.structured["error"]["message"]
    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    assert error_code(call(reader, "get_next_task", agent="coder", claim=True)) == "permission_denied"
    # Reading stays open to a read-only token, and nothing was claimed.
    assert ok(call(reader, "get_next_task", project="apollo"))["task"]["id"] == task["id"]
    assert ok(call(reader, "get_next_task"))["task"]["status"] == "todo"
    assert activities(task["id"]) == ["task.created"]
    assert error_code(call(alice_id, "get_next_task", agent="nobody", claim=True)) == "not_found"


def test_the_organizations_next_task_needs_no_argument(call, alice_id, acme, apollo) -> None:
    assert ok(call(alice_id, "get_next_task")) == {"task": None}
    ok(call(alice_id, "create_project", name="Hermes"))
    older = new(call, alice_id, "older", project="hermes")
    new(call, alice_id, "newer")
    assert ok(call(alice_id, "get_next_task"))["task"]["id"] == older["id"]


def test_an_agent_of_a_project_claims_that_projects_work(call, alice_id, acme, apollo) -> None:
    hermes = ok(call(alice_id, "create_project", name="Hermes"))
    with tenant_scope(acme):
        Agent.objects.create(organization=acme, name="H", slug="h", project_id=hermes["id"])
    new(call, alice_id, "apollo's", priority="critical")
    theirs = new(call, alice_id, "hermes'", project="hermes", priority="low")
    assert claim(call, alice_id, "h")["id"] == theirs["id"]
    assert claim(call, alice_id, "h") is None


def test_a_project_restricted_token_claims_in_its_project(call, alice, acme, alice_id, apollo, issue_token) -> None:
    ok(call(alice_id, "create_project", name="Hermes"))
    agent(acme, "coder")
    new(call, alice_id, "hermes'", project="hermes", priority="critical")
    mine = new(call, alice_id, "apollo's", priority="low")
    restricted = authenticate_token(issue_token(alice, acme, project_id=apollo["id"]))
    assert claim(call, restricted, "coder")["id"] == mine["id"]
    assert claim(call, restricted, "coder") is None


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_claimers_claim_each_task_once(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    tasks = {new(call, alice_id, f"task {n}")["id"] for n in range(30)}
    claimers = [agent(acme, f"agent-{n}") for n in range(20)]

    def claim_all(who: Agent) -> list[str]:
        mine: list[str] = []
        while (task := claim(call, alice_id, who.slug)) is not None:
            mine.append(task["id"])
        return mine

    outcomes = race(*[lambda who=who: claim_all(who) for who in claimers])
    assert not [o for o in outcomes if isinstance(o, BaseException)]
    claimed = {who.slug: ids for who, ids in zip(claimers, outcomes, strict=True)}
    every = [task_id for ids in claimed.values() for task_id in ids]
    assert len(every) == len(set(every)) == len(tasks)  # each task once, none left
    assert set(every) == tasks
    with tenant_scope(acme):
        rows = {str(t.pk): t for t in Task.objects.all()}
    for slug, ids in claimed.items():
        owner = next(a for a in claimers if a.slug == slug)
        assert all(rows[i].assignee_agent_id == owner.pk and rows[i].status == "in_progress" for i in ids)
    assert Activity.unscoped.filter(type="task.claimed").count() == len(tasks)


def test_a_stale_claim_returns_to_the_queue(call, alice_id, acme, apollo, settings) -> None:
    settings.TASK_CLAIM_TIMEOUT_SECONDS = 600
    coder = agent(acme, "coder")
    unassigned = new(call, alice_id, "unassigned", priority="critical")
    assigned = new(call, alice_id, "assigned to coder", priority="high", assignee="coder")
    fresh = new(call, alice_id, "fresh", priority="low")
    for _ in range(3):
        claim(call, alice_id, "coder")
    long_ago = timezone.now() - timedelta(seconds=601)
    Task.unscoped.filter(pk__in=[unassigned["id"], assigned["id"]]).update(updated_at=long_ago)

    assert release_stale_claims() == 2
    with tenant_scope(acme):
        rows = {str(t.pk): t for t in Task.objects.all()}
    # Back in the queue; the assignment the claim made is given back, one made on
    # purpose stays.
    assert (rows[unassigned["id"]].status, rows[unassigned["id"]].assignee_agent_id) == ("todo", None)
    assert (rows[assigned["id"]].status, rows[assigned["id"]].assignee_agent_id) == ("todo", coder.pk)
    assert rows[unassigned["id"]].claimed_at is None
    assert (rows[fresh["id"]].status, rows[fresh["id"]].claimed_at is not None) == ("in_progress", True)
    expired = Activity.unscoped.get(target_id=unassigned["id"], type="task.claim_expired")
    assert expired.metadata["agent"] == str(coder.pk) and expired.metadata["idle_seconds"] >= 600
    assert claims_release_stale() == 0  # idempotent
    # Another agent may now claim it.
    agent(acme, "other")
    assert claim(call, alice_id, "other")["id"] == unassigned["id"]


def test_work_that_moves_on_ends_its_claim(call, alice_id, acme, apollo) -> None:
    agent(acme, "coder")
    created = new(call, alice_id, "T")
    task = claim(call, alice_id, "coder")
    assert task is not None and task["id"] == created["id"]
    ok(call(alice_id, "update_task", task=task["id"], status="in_review"))
    Task.unscoped.filter(pk=task["id"]).update(updated_at=timezone.now() - timedelta(days=1))
    assert claims_release_stale() == 0
    with tenant_scope(acme):
        row = Task.objects.get(pk=task["id"])
    assert (row.status, row.claimed_at) == ("in_review", None)
