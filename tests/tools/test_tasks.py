"""The task tools: creation with assignees, subtasks and dependencies; the status
workflow and its timestamps; cycles; get_next_task; soft delete; lists, filters and
their query bounds; isolation between organizations and projects; bad input; audit."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.auth import authenticate_token
from orchestra.actor import Actor
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.agents.models import Agent
from tools.tasks import selectors, services
from tools.tasks.models import Task, TaskDependency
from tools.tasks.selectors import next_task_rows, open_task_rows, open_tasks, task_counts_by_status

MISSING = "00000000-0000-4000-8000-000000000000"


def new(call, identity, title: str, project: str = "apollo", **kwargs: Any) -> dict[str, Any]:
    return ok(call(identity, "create_task", title=title, project=project, **kwargs))


def state() -> tuple[Any, ...]:
    """Everything a task tool can write."""
    return (
        list(
            Task.unscoped.order_by("pk").values_list(
                "pk",
                "title",
                "status",
                "priority",
                "labels",
                "parent_id",
                "assignee_agent_id",
                "assignee_user_id",
                "due_date",
                "completed_at",
                "deleted_at",
            )
        ),
        sorted(TaskDependency.unscoped.values_list("task_id", "blocker_id")),
        Activity.unscoped.count(),
    )


def activity_types(task_id: str) -> list[str]:
    return list(Activity.unscoped.filter(target_id=task_id).order_by("created_at").values_list("type", flat=True))


@pytest.fixture
def apollo(call, alice_id, acme) -> dict[str, Any]:
    return ok(call(alice_id, "create_project", name="Apollo"))


@pytest.fixture
def coder(acme, apollo) -> Agent:
    with tenant_scope(acme):
        return Agent.objects.create(organization=acme, name="Coder", slug="coder")


def test_create_and_get_with_subtasks_dependencies_and_history(call, alice_id, acme, apollo, coder) -> None:
    design = new(call, alice_id, "Design the API")
    epic = new(call, alice_id, "Launch")
    created = new(
        call,
        alice_id,
        "  Build the API ",
        description="REST first.",
        assignee="coder",
        priority="high",
        labels=["Backend", "api", "backend"],
        due_date="2030-01-31",
        parent=epic["id"],
        blocked_by=[design["id"], design["id"]],
    )
    assert created["title"] == "Build the API" and created["status"] == "todo" and created["priority"] == "high"
    assert created["labels"] == ["api", "backend"] and created["due_date"] == "2030-01-31"
    assert created["assignee_agent_id"] == str(coder.pk) and "assignee_user_id" not in created
    assert created["parent_id"] == epic["id"] and created["blocked_by"] == [design["id"]]
    assert created["project_id"] == apollo["id"] and created["created_by_id"] == str(alice_id.user_id)
    assert "started_at" not in created and "completed_at" not in created
    assert new(call, alice_id, "Defaults")["priority"] == "medium"

    ok(call(alice_id, "update_task", task=design["id"], status="in_progress"))
    got = ok(call(alice_id, "get_task", task=created["id"]))
    assert got["dependencies"] == [
        {"id": design["id"], "title": "Design the API", "status": "in_progress", "priority": "medium"}
    ]
    assert "subtasks" not in got
    assert [h["type"] for h in got["history"]] == ["task.created"]
    # The task's own history names neither the task nor its project again.
    assert not {"target_id", "project_id"} & got["history"][0].keys()
    parent = ok(call(alice_id, "get_task", task=epic["id"]))
    assert [s["id"] for s in parent["subtasks"]] == [created["id"]]


def test_assignee_is_an_agent_or_a_member(call, alice_id, acme, apollo, coder, bob, charlie, globex) -> None:
    by_id = new(call, alice_id, "A", assignee=str(coder.pk))
    assert by_id["assignee_agent_id"] == str(coder.pk)
    by_email = new(call, alice_id, "B", assignee="BOB@example.com")
    assert by_email["assignee_user_id"] == str(bob.pk) and "assignee_agent_id" not in by_email
    by_user_id = new(call, alice_id, "C", assignee=str(bob.pk))
    assert by_user_id["assignee_user_id"] == str(bob.pk)

    # Charlie is a user, but not a member of Acme: like a missing one.
    for ref in ("charlie@example.com", str(charlie.pk), "nobody@example.com", "ghost-agent", MISSING):
        outcome = call(alice_id, "create_task", title="D", project="apollo", assignee=ref)
        assert error_code(outcome) == "not_found"
        assert outcome.structured["error"]["message"] == f"assignee not found: {ref}"

    moved = ok(call(alice_id, "update_task", task=by_id["id"], assignee="bob@example.com"))
    assert moved["assignee_user_id"] == str(bob.pk) and "assignee_agent_id" not in moved
    cleared = ok(call(alice_id, "update_task", task=by_id["id"], clear=["assignee"]))
    assert "assignee_user_id" not in cleared and "assignee_agent_id" not in cleared


def test_sandbox_tokens_assign_members_of_the_live_organization(call, alice, acme, bob, issue_token) -> None:
    sandbox = authenticate_token(issue_token(alice, acme, mode="test"))
    ok(call(sandbox, "create_project", name="Apollo"))
    task = new(call, sandbox, "Try it", assignee="bob@example.com")
    assert task["assignee_user_id"] == str(bob.pk)
    with tenant_scope(acme):
        assert not Task.objects.exists()


def test_status_workflow_and_timestamps(call, alice_id, acme, apollo) -> None:
    task = new(call, alice_id, "Ship")
    assert "started_at" not in ok(call(alice_id, "update_task", task=task["id"], status="backlog"))
    started = ok(call(alice_id, "update_task", task=task["id"], status="in_progress"))
    assert started["status"] == "in_progress" and started["started_at"]
    blocked = ok(call(alice_id, "update_task", task=task["id"], status="blocked"))
    refused = call(alice_id, "update_task", task=task["id"], status="done")
    assert error_code(refused) == "conflict"
    assert refused.structured["error"]["message"] == (
        "task cannot go from blocked to done; allowed: todo, in_progress, cancelled"
    )
    again = ok(call(alice_id, "update_task", task=task["id"], status="in_progress"))
    assert again["started_at"] == started["started_at"]  # set the first time only
    assert blocked["started_at"] == started["started_at"]
    review = ok(call(alice_id, "update_task", task=task["id"], status="in_review"))
    done = ok(call(alice_id, "update_task", task=task["id"], status="done"))
    assert done["completed_at"] and "completed_at" not in review

    for status in ("blocked", "in_progress", "todo"):
        outcome = call(alice_id, "update_task", task=task["id"], status=status)
        assert error_code(outcome) == "conflict"
        assert outcome.structured["error"]["message"] == (
            "task is done: to reopen it call update_task with reopen=true and status one of backlog, todo, in_progress"
        )
    assert error_code(call(alice_id, "update_task", task=task["id"], status="blocked", reopen=True)) == "conflict"
    assert error_code(call(alice_id, "update_task", task=task["id"], reopen=True)) == "invalid_arguments"
    reopened = ok(call(alice_id, "update_task", task=task["id"], status="todo", reopen=True))
    assert reopened["status"] == "todo" and "completed_at" not in reopened
    assert reopened["started_at"] == started["started_at"]
    not_final = call(alice_id, "update_task", task=task["id"], status="in_progress", reopen=True)
    assert error_code(not_final) == "invalid_arguments"

    cancelled = ok(call(alice_id, "update_task", task=task["id"], status="cancelled"))
    assert "completed_at" not in cancelled
    assert error_code(call(alice_id, "complete_task", task=task["id"])) == "conflict"
    assert ok(call(alice_id, "update_task", task=task["id"], status="backlog", reopen=True))["status"] == "backlog"

    history = activity_types(task["id"])
    assert history == [
        "task.created",
        "task.updated",
        "task.updated",
        "task.updated",
        "task.updated",
        "task.updated",
        "task.completed",
        "task.reopened",
        "task.updated",
        "task.reopened",
    ]
    with tenant_scope(acme):
        completed = Activity.objects.get(target_id=task["id"], type="task.completed")
    assert completed.metadata["status"] == {"from": "in_review", "to": "done"}
    assert completed.project_id is not None and str(completed.project_id) == apollo["id"]


def test_complete_task(call, alice_id, acme, apollo) -> None:
    task = new(call, alice_id, "Write docs")
    done = ok(call(alice_id, "complete_task", task=task["id"], notes="Published at /docs."))
    assert done["status"] == "done" and done["completed_at"] and done["completion_notes"] == "Published at /docs."
    before = (state(), done["updated_at"])
    again = ok(call(alice_id, "complete_task", task=task["id"]))
    assert again["completed_at"] == done["completed_at"] and again["completion_notes"] == "Published at /docs."
    assert (state(), again["updated_at"]) == before  # completing a done task changes nothing, writes no audit row
    renoted = ok(call(alice_id, "complete_task", task=task["id"], notes="Moved to /guide."))
    assert renoted["completion_notes"] == "Moved to /guide." and renoted["completed_at"] == done["completed_at"]
    assert activity_types(task["id"]) == ["task.created", "task.completed", "task.updated"]
    with tenant_scope(acme):
        row = Activity.objects.get(target_id=task["id"], type="task.completed")
    assert row.tool == "complete_task" and row.metadata["status"] == {"from": "todo", "to": "done"}
    assert sorted(row.metadata["fields"]) == ["completed_at", "completion_notes", "status"]


def test_a_row_locked_first_cannot_change_the_task_graph(call, alice_id, acme, apollo) -> None:
    """The graph lock comes before a task's row lock (decision 0010): a caller that
    locked the row already may change its fields, never its parent or blockers."""
    a, b = new(call, alice_id, "a"), new(call, alice_id, "b")
    actor = Actor(user_id=alice_id.user_id)
    with tenant_scope(acme), transaction.atomic():
        locked = selectors.task_get(a["id"], lock=True)
        with pytest.raises(ValueError, match="graph lock"):
            services.task_update(actor=actor, task=locked, parent=selectors.task_get(b["id"]), locked=True)
    with tenant_scope(acme), transaction.atomic():
        locked = selectors.task_get(a["id"], lock=True)
        changed = services.task_update(actor=actor, task=locked, priority="high", locked=True)
    assert changed.priority == "high"
    assert ok(call(alice_id, "get_task", task=a["id"]))["priority"] == "high"


def test_update_fields_and_audit(call, alice_id, acme, apollo) -> None:
    task = new(call, alice_id, "Old", labels=["a"], due_date="2030-01-01")
    updated = ok(
        call(
            alice_id,
            "update_task",
            task=task["id"],
            title=" New ",
            description="Details",
            priority="critical",
            labels=["B", "c"],
        )
    )
    assert updated["title"] == "New" and updated["description"] == "Details" and updated["priority"] == "critical"
    assert updated["labels"] == ["b", "c"] and updated["due_date"] == "2030-01-01"
    assert "due_date" not in ok(call(alice_id, "update_task", task=task["id"], clear=["due_date"]))
    before = state()
    assert ok(call(alice_id, "update_task", task=task["id"], title="New"))["title"] == "New"
    assert state() == before  # nothing differs: nothing written
    with tenant_scope(acme):
        rows = list(Activity.objects.filter(target_id=task["id"]).order_by("created_at"))
    assert [r.type for r in rows] == ["task.created", "task.updated", "task.updated"]
    assert rows[1].metadata == {"fields": ["description", "labels", "priority", "title"]}
    assert rows[2].metadata == {"fields": ["due_date"]}
    assert all(r.actor_user_id == alice_id.user_id and r.token_id == alice_id.token_id for r in rows)
    assert all(r.tool in ("create_task", "update_task") and r.target_type == "task" for r in rows)


def test_dependencies_cycles_and_parents(call, alice_id, acme, apollo) -> None:
    a, b, c = (new(call, alice_id, name) for name in "abc")
    ok(call(alice_id, "update_task", task=b["id"], blocked_by=[a["id"]]))
    ok(call(alice_id, "update_task", task=c["id"], blocked_by=[b["id"]]))
    before = state()
    # a <- b <- c: a waiting for b (direct) or for c (through b) closes a cycle.
    for blocker in (b["id"], c["id"]):
        outcome = call(alice_id, "update_task", task=a["id"], blocked_by=[blocker])
        assert error_code(outcome) == "invalid_arguments"
        assert outcome.structured["error"]["message"] == (
            f"blocked_by: task {blocker} already waits for this task (directly or through others); a cycle is refused"
        )
    unknown = call(alice_id, "update_task", task=a["id"], blocked_by=[c["id"], MISSING])
    assert unknown.structured["error"]["message"] == f"blocked_by not found: {MISSING}"
    own = call(alice_id, "update_task", task=a["id"], blocked_by=[a["id"]])
    assert own.structured["error"]["message"] == "blocked_by: a task cannot wait for itself"
    assert state() == before

    # Replacing the list: c now waits for a only; the edge to b goes.
    replaced = ok(call(alice_id, "update_task", task=c["id"], blocked_by=[a["id"]]))
    assert replaced["blocked_by"] == [a["id"]]
    assert "blocked_by" not in ok(call(alice_id, "update_task", task=c["id"], blocked_by=[]))

    ok(call(alice_id, "update_task", task=b["id"], parent=a["id"]))
    ok(call(alice_id, "update_task", task=c["id"], parent=b["id"]))
    before = state()
    for parent in (c["id"], b["id"], a["id"]):
        outcome = call(alice_id, "update_task", task=a["id"], parent=parent)
        assert error_code(outcome) == "invalid_arguments"
        assert outcome.structured["error"]["message"] == (
            f"parent: task {parent} is this task or one of its subtasks; a cycle is refused"
        )
    assert state() == before
    assert "parent_id" not in ok(call(alice_id, "update_task", task=c["id"], clear=["parent"]))
    with tenant_scope(acme):
        row = Activity.objects.filter(target_id=c["id"], metadata__blocked_by__isnull=False).first()
    assert row is not None and row.metadata["fields"] == ["blocked_by"]

    other = ok(call(alice_id, "create_project", name="Hermes"))
    elsewhere = new(call, alice_id, "Elsewhere", project=other["slug"])
    refused = call(alice_id, "create_task", title="x", project="apollo", parent=elsewhere["id"])
    assert error_code(refused) == "invalid_arguments"
    assert refused.structured["error"]["message"] == (
        f"parent: task {elsewhere['id']} is in another project; a subtask stays in its parent's project"
    )
    for call_args in (
        {"tool": "create_task", "title": "x", "project": "apollo"},
        {"tool": "update_task", "task": a["id"]},
    ):
        tool = call_args.pop("tool")
        outcome = call(alice_id, tool, **call_args, blocked_by=[elsewhere["id"]])
        assert error_code(outcome) == "invalid_arguments"
        assert outcome.structured["error"]["message"] == (
            f"blocked_by: task {elsewhere['id']} is in another project; dependencies stay in one project"
        )


def test_get_next_task(call, alice_id, acme, apollo, coder, django_assert_max_num_queries) -> None:
    assert ok(call(alice_id, "get_next_task")) == {"task": None}  # the organization's open work
    assert ok(call(alice_id, "get_next_task", project="apollo")) == {"task": None}
    low = new(call, alice_id, "low", priority="low")
    high_old = new(call, alice_id, "high old", priority="high")
    high_new = new(call, alice_id, "high new", priority="high")
    blocker = new(call, alice_id, "blocker", priority="low")
    critical = new(call, alice_id, "critical", priority="critical", blocked_by=[blocker["id"]])
    started = new(call, alice_id, "critical but started", priority="critical")
    ok(call(alice_id, "update_task", task=started["id"], status="in_progress"))

    def next_id(**kwargs: Any) -> str | None:
        with django_assert_max_num_queries(4):
            task = ok(call(alice_id, "get_next_task", **kwargs))["task"]
        return None if task is None else task["id"]

    # The critical one waits for its blocker: the oldest high comes first.
    assert next_id(project="apollo") == high_old["id"]
    ok(call(alice_id, "complete_task", task=blocker["id"]))
    assert next_id(project="apollo") == critical["id"]
    ok(call(alice_id, "update_task", task=blocker["id"], status="todo", reopen=True))
    assert next_id(project="apollo") == high_old["id"]
    ok(call(alice_id, "update_task", task=blocker["id"], status="cancelled"))
    assert next_id(project="apollo") == critical["id"]
    ok(call(alice_id, "update_task", task=blocker["id"], status="todo", reopen=True))
    ok(call(alice_id, "delete_task", task=blocker["id"]))  # a deleted task blocks nothing
    assert next_id(project="apollo") == critical["id"]

    ok(call(alice_id, "update_task", task=high_new["id"], assignee="coder"))
    ok(call(alice_id, "update_task", task=low["id"], assignee=str(coder.pk)))
    assert next_id(agent="coder") == high_new["id"]
    assert next_id(agent="coder", project="apollo") == high_new["id"]
    ok(call(alice_id, "complete_task", task=high_new["id"]))
    assert next_id(agent="coder") == low["id"]
    ok(call(alice_id, "delete_task", task=low["id"]))
    assert next_id(agent="coder") is None
    assert error_code(call(alice_id, "get_next_task", agent="nobody")) == "not_found"


def test_next_and_open_tasks_walk_their_indexes(call, alice_id, acme, apollo, coder) -> None:
    for n in range(3):
        new(call, alice_id, f"t{n}", assignee="coder")
    with tenant_scope(acme):
        with connection.cursor() as cursor:
            # A handful of rows would be scanned and sorted otherwise; with both off, only
            # an index whose predicate and order match the query can answer it.
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("SET enable_sort = off")
        try:
            for rows, index in (
                (next_task_rows(project=apollo["id"]), "task_next_in_project"),
                (next_task_rows(agent=coder), "task_next_for_agent"),
                (open_task_rows(apollo["id"]), "task_open_in_project"),
            ):
                plan = rows[:1].explain()
                assert index in plan, plan
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET enable_seqscan")
                cursor.execute("RESET enable_sort")


def test_delete_task_is_soft(call, alice_id, acme, apollo) -> None:
    parent = new(call, alice_id, "Parent")
    child = new(call, alice_id, "Child", parent=parent["id"])
    waiting = new(call, alice_id, "Waiting", blocked_by=[child["id"]])
    deleted = ok(call(alice_id, "delete_task", task=child["id"], reason="  duplicate "))
    assert deleted["id"] == child["id"] and deleted["reason"] == "duplicate" and deleted["deleted_at"]
    for tool in ("get_task", "update_task", "complete_task", "delete_task"):
        extra = {"title": "back"} if tool == "update_task" else {}
        outcome = call(alice_id, tool, task=child["id"], **extra)
        assert error_code(outcome) == "not_found"
        assert outcome.structured["error"]["message"] == f"task not found: {child['id']}"
    assert child["id"] not in [t["id"] for t in ok(call(alice_id, "list_tasks"))["items"]]
    assert "subtasks" not in ok(call(alice_id, "get_task", task=parent["id"]))
    got = ok(call(alice_id, "get_task", task=waiting["id"]))
    assert "dependencies" not in got and "blocked_by" not in got
    assert error_code(call(alice_id, "create_task", title="x", project="apollo", parent=child["id"])) == "not_found"
    with tenant_scope(acme):
        row = Task.objects.get(pk=child["id"])  # the row stays, with who and why
        trail = Activity.objects.get(target_id=child["id"], type="task.deleted")
    assert row.deleted_by_id == alice_id.user_id and row.delete_reason == "duplicate"
    assert trail.metadata == {"status": "todo", "reason": "duplicate"} and str(trail.project_id) == apollo["id"]


def test_list_filters_and_keyset_pages(call, alice_id, acme, apollo, coder, bob, django_assert_max_num_queries) -> None:
    ok(call(alice_id, "create_project", name="Hermes"))
    a = new(call, alice_id, "a", labels=["ui"], priority="high", assignee="coder")
    b = new(call, alice_id, "b", labels=["ui", "api"], assignee="bob@example.com", blocked_by=[a["id"]])
    c = new(call, alice_id, "c", project="hermes", priority="high")
    ok(call(alice_id, "update_task", task=b["id"], status="in_progress"))

    def ids(**kwargs: Any) -> list[str]:
        return [t["id"] for t in ok(call(alice_id, "list_tasks", **kwargs))["items"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(project="apollo") == [b["id"], a["id"]]
    assert ids(status="in_progress") == [b["id"]]
    assert ids(status=["todo", "in_progress"]) == [c["id"], b["id"], a["id"]]
    assert ids(status=["done"]) == []
    assert ids(priority="high") == [c["id"], a["id"]]
    assert ids(label="UI") == [b["id"], a["id"]]
    assert ids(label="api") == [b["id"]]
    assert ids(assignee="coder") == [a["id"]]
    assert ids(assignee=str(bob.pk)) == [b["id"]]
    assert ids(project="hermes", priority="high", status="todo") == [c["id"]]
    listed = ok(call(alice_id, "list_tasks", project="apollo"))["items"]
    assert listed[0]["blocked_by"] == [a["id"]]

    for n in range(12):
        new(call, alice_id, f"t{n}", blocked_by=[a["id"], b["id"]], labels=["x"])
    for limit in (2, 50):
        seen, cursor = [], None
        while True:
            with django_assert_max_num_queries(2):  # the page, and its blockers
                page = ok(call(alice_id, "list_tasks", limit=limit, cursor=cursor))
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 15
    assert error_code(call(alice_id, "list_tasks", cursor="!!bad!!")) == "invalid_arguments"


def test_get_task_is_a_bounded_number_of_queries(call, alice_id, acme, apollo, django_assert_max_num_queries) -> None:
    blockers = [new(call, alice_id, f"b{n}")["id"] for n in range(8)]
    task = new(call, alice_id, "Main", blocked_by=blockers)
    for n in range(8):
        new(call, alice_id, f"sub{n}", parent=task["id"])
        ok(call(alice_id, "update_task", task=task["id"], description=str(n)))
    with django_assert_max_num_queries(5):  # task, its blockers, dependencies, subtasks, history
        got = ok(call(alice_id, "get_task", task=task["id"]))
    assert len(got["dependencies"]) == 8 and len(got["subtasks"]) == 8 and len(got["history"]) == 9
    assert [h["type"] for h in got["history"]][:2] == ["task.created", "task.updated"]


def test_project_restricted_token(call, alice, acme, alice_id, apollo, issue_token) -> None:
    ok(call(alice_id, "create_project", name="Hermes"))
    mine = new(call, alice_id, "mine")
    theirs = new(call, alice_id, "theirs", project="hermes")
    restricted = authenticate_token(issue_token(alice, acme, project_id=apollo["id"]))
    assert [t["id"] for t in ok(call(restricted, "list_tasks"))["items"]] == [mine["id"]]
    assert ok(call(restricted, "list_tasks", status="todo"))["items"][0]["id"] == mine["id"]
    outcome = call(restricted, "create_task", title="x", project="hermes")
    assert error_code(outcome) == "not_found" and outcome.structured["error"]["message"] == "project not found: hermes"
    for tool, extra in (("get_task", {}), ("update_task", {"title": "x"}), ("complete_task", {}), ("delete_task", {})):
        outcome = call(restricted, tool, task=theirs["id"], **extra)
        assert outcome.structured["error"]["message"] == f"task not found: {theirs['id']}"
    blocked = call(restricted, "create_task", title="x", project="apollo", blocked_by=[theirs["id"]])
    assert blocked.structured["error"]["message"] == f"blocked_by not found: {theirs['id']}"
    assert ok(call(restricted, "get_next_task", project="apollo"))["task"]["id"] == mine["id"]
    assert error_code(call(restricted, "get_next_task", project="hermes")) == "not_found"
    assert new(call, restricted, "allowed")["project_id"] == apollo["id"]


def test_another_organization_cannot_reach_tasks(call, alice_id, charlie_id, acme, globex, apollo, coder) -> None:
    task = new(call, alice_id, "Secret", assignee="coder")
    ok(call(charlie_id, "create_project", name="Apollo"))  # same slug, another organization
    before = state()
    for ref in (task["id"], MISSING):
        for tool, extra in (
            ("get_task", {}),
            ("update_task", {"title": "pwned"}),
            ("update_task", {"status": "done"}),
            ("complete_task", {}),
            ("delete_task", {}),
        ):
            outcome = call(charlie_id, tool, task=ref, **extra)
            assert error_code(outcome) == "not_found"
            assert outcome.structured["error"]["message"] == f"task not found: {ref}"
        for argument in ("parent", "blocked_by"):
            value = [ref] if argument == "blocked_by" else ref
            outcome = call(charlie_id, "create_task", title="x", project="apollo", **{argument: value})
            assert outcome.structured["error"]["message"] == f"{argument} not found: {ref}"
    assert error_code(call(charlie_id, "create_task", title="x", project=apollo["id"])) == "not_found"
    for ref in ("coder", str(coder.pk), "alice@example.com"):
        outcome = call(charlie_id, "create_task", title="x", project="apollo", assignee=ref)
        assert outcome.structured["error"]["message"] == f"assignee not found: {ref}"
        assert error_code(call(charlie_id, "list_tasks", assignee=ref)) == "not_found"
    assert error_code(call(charlie_id, "get_next_task", agent="coder")) == "not_found"
    assert error_code(call(charlie_id, "get_next_task", project=apollo["id"])) == "not_found"
    assert ok(call(charlie_id, "list_tasks"))["items"] == []
    assert ok(call(charlie_id, "get_next_task", project="apollo")) == {"task": None}
    assert state() == before


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("create_task", {"project": "apollo"}),
        ("create_task", {"title": "x"}),
        ("create_task", {"title": "   ", "project": "apollo"}),
        ("create_task", {"title": "x" * 301, "project": "apollo"}),
        ("create_task", {"title": "x", "project": "apollo", "priority": "urgent"}),
        ("create_task", {"title": "x", "project": "apollo", "labels": "ui"}),
        ("create_task", {"title": "x", "project": "apollo", "labels": [f"l{n}" for n in range(21)]}),
        ("create_task", {"title": "x", "project": "apollo", "due_date": "tomorrow"}),
        ("create_task", {"title": "x", "project": "apollo", "parent": "not-a-uuid"}),
        ("create_task", {"title": "x", "project": "apollo", "blocked_by": [MISSING] * 51}),
        ("create_task", {"title": "x", "project": "apollo", "status": "done"}),
        ("update_task", {"task": "TASK"}),
        ("update_task", {"task": "TASK", "status": "finished"}),
        ("update_task", {"task": "TASK", "title": ""}),
        ("update_task", {"task": "TASK", "reopen": True}),
        ("update_task", {"task": "TASK", "status": "todo", "reopen": True}),
        ("update_task", {"task": "TASK", "clear": ["title"]}),
        ("update_task", {"task": "TASK", "assignee": "coder", "clear": ["assignee"]}),
        ("update_task", {"task": "TASK", "blocked_by": ["TASK"]}),
        ("update_task", {"task": "TASK", "parent": "TASK"}),
        ("update_task", {"task": "not-a-uuid", "title": "x"}),
        ("complete_task", {"task": "TASK", "notes": "x" * 20_001}),
        ("delete_task", {"task": "TASK", "reason": "x" * 501}),
        ("list_tasks", {"status": "gone"}),
        ("list_tasks", {"status": ["todo", "gone"]}),
        ("list_tasks", {"limit": 0}),
        ("list_tasks", {"limit": 101}),
        ("get_task", {}),
        ("get_next_task", {"claim": True}),
        ("get_next_task", {"agent": "coder", "claim": "yes please"}),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, acme, apollo, coder, tool, arguments) -> None:
    task = new(call, alice_id, "T")
    arguments = {
        key: (
            [task["id"] if v == "TASK" else v for v in value]
            if isinstance(value, list)
            else task["id"]
            if value == "TASK"
            else value
        )
        for key, value in arguments.items()
    }
    before = state()
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == "invalid_arguments"
    assert outcome.structured["error"]["message"]
    assert state() == before


def test_read_only_token_writes_nothing(call, alice, acme, alice_id, apollo, issue_token) -> None:
    task = new(call, alice_id, "T")
    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    before = state()
    for tool, extra in (("create_task", {"title": "x", "project": "apollo"}), ("complete_task", {"task": task["id"]})):
        assert error_code(call(reader, tool, **extra)) == "permission_denied"
    assert state() == before
    assert len(ok(call(reader, "list_tasks"))["items"]) == 1


def test_selectors_for_project_stats_and_resume(call, alice_id, acme, apollo) -> None:
    low = new(call, alice_id, "low", priority="low")
    critical = new(call, alice_id, "critical", priority="critical")
    medium = new(call, alice_id, "medium")
    done = new(call, alice_id, "done", priority="critical")
    gone = new(call, alice_id, "gone", priority="critical")
    ok(call(alice_id, "complete_task", task=done["id"]))
    ok(call(alice_id, "update_task", task=medium["id"], status="in_progress"))
    ok(call(alice_id, "delete_task", task=gone["id"]))
    with tenant_scope(acme):
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            counts = task_counts_by_status(apollo["id"])
            rows = open_tasks(apollo["id"], 10)
        assert len(queries) == 2
        assert counts == {
            "backlog": 0,
            "todo": 2,
            "in_progress": 1,
            "blocked": 0,
            "in_review": 0,
            "done": 1,
            "cancelled": 0,
        }
        assert [str(t.pk) for t in rows] == [critical["id"], medium["id"], low["id"]]
        assert [t.pk for t in open_tasks(apollo["id"], 1)] == [rows[0].pk]
        project = Task.objects.get(pk=low["id"]).project
        assert task_counts_by_status(project) == counts


def test_older_tasks_come_first_at_equal_priority(call, alice_id, acme, apollo) -> None:
    first = new(call, alice_id, "first")
    second = new(call, alice_id, "second")
    with tenant_scope(acme):
        Task.objects.filter(pk=first["id"]).update(created_at=timezone.now() + timedelta(minutes=5))
    assert ok(call(alice_id, "get_next_task", project="apollo"))["task"]["id"] == second["id"]


def test_create_task_is_a_bounded_number_of_queries(
    call, alice_id, acme, apollo, coder, django_assert_num_queries
) -> None:
    parent = new(call, alice_id, "Parent")
    blockers = [new(call, alice_id, f"b{n}")["id"] for n in range(5)]
    # project, assignee, parent, blockers, insert, dependencies, audit row, the plan's
    # usage counter (one upsert: the plan comes with the token), savepoint pair
    with django_assert_num_queries(10):
        created = new(call, alice_id, "Child", assignee="coder", parent=parent["id"], blocked_by=blockers)
    assert created["blocked_by"] == blockers
    with django_assert_num_queries(6):
        new(call, alice_id, "Plain")


@pytest.mark.django_db(transaction=True)
def test_concurrent_dependency_changes_cannot_close_a_cycle(call, alice_id, acme) -> None:
    """Each of two concurrent updates adds one edge of a <-> b; neither sees the
    other's uncommitted edge, so the graph lock must make the second wait and refuse."""
    ok(call(alice_id, "create_project", name="Apollo"))
    a, b = new(call, alice_id, "a"), new(call, alice_id, "b")
    written, release = threading.Event(), threading.Event()
    outcomes: dict[str, Any] = {}

    def first() -> None:
        try:
            with tenant_scope(acme), transaction.atomic():
                blockers = selectors.tasks_get([b["id"]], argument="blocked_by")
                services.task_update(
                    actor=Actor(user_id=alice_id.user_id), task=selectors.task_get(a["id"]), blocked_by=blockers
                )
                written.set()
                release.wait(10)
        finally:
            connection.close()

    def second() -> None:
        try:
            written.wait(10)
            outcomes["second"] = call(alice_id, "update_task", task=b["id"], blocked_by=[a["id"]])
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert written.wait(10)
    time.sleep(0.5)
    assert threads[1].is_alive()  # waiting for the first change to commit
    release.set()
    for thread in threads:
        thread.join(20)
    assert error_code(outcomes["second"]) == "invalid_arguments"
    assert "a cycle is refused" in outcomes["second"].structured["error"]["message"]
    assert list(TaskDependency.unscoped.values_list("task_id", "blocker_id")) == [(UUID(a["id"]), UUID(b["id"]))]
