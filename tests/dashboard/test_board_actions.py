"""People act on tasks and agents from the dashboard: every action through the tools'
services, for owners, admins and members only (a viewer sees no button and a forged
POST is a 403), another organization's rows answer 404, bad input changes nothing, and
each change's activity row names the person."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization, Role, User
from accounts.services import membership_set, organization_create
from billing.models import UsageCounter
from billing.plans import PLANS, PlanCode, Resource
from billing.usage import period_of
from orchestra.actor import Actor
from orchestra.tenancy import tenant_scope
from tests.dashboard.dashboard_world import tool
from tools.activity.models import Activity
from tools.agents.models import Agent, AgentStatus
from tools.projects.services import project_create
from tools.tasks.models import Task, TaskDependency

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave(acme: Organization) -> User:
    user = User.objects.create_user("dave@example.com", "pw-dave-123456", name="Dave")
    membership_set(organization=acme, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def work(alice_id: Any) -> dict[str, Any]:
    """A project with an agent and three tasks: `first` waits for `second`, `parent`
    has one open subtask."""
    project = tool(alice_id, "create_project", name="Apollo")
    agent = tool(alice_id, "create_agent", name="Apollo bot", project=project["slug"])
    second = tool(alice_id, "create_task", title="Second", project="apollo", labels=["api"], priority="high")
    first = tool(
        alice_id, "create_task", title="First", project="apollo", assignee=agent["slug"], blocked_by=[second["id"]]
    )
    parent = tool(alice_id, "create_task", title="Parent", project="apollo")
    sub = tool(alice_id, "create_task", title="Sub", project="apollo", parent=parent["id"])
    return {"project": project, "agent": agent, "first": first, "second": second, "parent": parent, "sub": sub}


def client_for(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def row(org: Organization, task_id: str) -> Task:
    with tenant_scope(org):
        return Task.objects.get(pk=task_id)


def snapshot(org: Organization) -> tuple[Any, ...]:
    """Everything a refused action must leave as it was."""
    with tenant_scope(org):
        tasks = sorted(
            Task.objects.values_list("id", "title", "status", "priority", "labels", "deleted_at", "assignee_agent_id")
        )
        return tuple(tasks), TaskDependency.objects.count(), Activity.objects.count(), Agent.objects.count()


def last_activity(org: Organization) -> Activity:
    with tenant_scope(org):
        return Activity.objects.order_by("-created_at", "-id").select_related("actor_user").first()  # type: ignore[return-value]


def actions(work: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(url, a valid POST) for every task and agent action."""
    task, agent = work["second"]["id"], work["agent"]["slug"]
    return [
        ("/projects/apollo/tasks/new/", {"title": "New one", "priority": "low"}),
        (f"/tasks/{task}/edit/", {"title": "Second, renamed", "priority": "low"}),
        (f"/tasks/{task}/status/", {"status": "in_progress"}),
        (f"/tasks/{task}/complete/", {"notes": "done"}),
        (f"/tasks/{task}/delete/", {"reason": "gone"}),
        ("/agents/new/", {"name": "Helper", "memory_scope": "private"}),
        (f"/agents/{agent}/edit/", {"name": "Renamed bot", "memory_scope": "private"}),
        (f"/agents/{agent}/status/", {"status": "archived"}),
    ]


def test_a_viewer_sees_no_buttons_and_every_forged_post_is_refused(dave, acme, work) -> None:
    client = client_for(dave)
    board = client.get("/projects/apollo/").content.decode()
    assert "First" in board and "Second" in board  # viewers read
    assert "Move…" not in board and "New task" not in board and 'draggable="true"' not in board
    task_page = client.get(f"/tasks/{work['first']['id']}/").content.decode()
    assert "Edit</a>" not in task_page and "Change status" not in task_page and "Delete…" not in task_page
    assert "New agent" not in client.get("/agents/").content.decode()
    before = snapshot(acme)
    for url, data in actions(work):
        assert client.post(url, data).status_code == 403, url
        if not url.endswith("/status/"):
            assert client.get(url).status_code == 403, url
    assert snapshot(acme) == before


def test_another_organizations_rows_answer_404(charlie, globex, work) -> None:
    client = client_for(charlie)
    for url, data in actions(work)[1:]:
        if url == "/agents/new/":
            continue
        assert client.post(url, data).status_code == 404, url
    assert client.get(f"/tasks/{work['first']['id']}/edit/").status_code == 404
    assert client.get("/projects/apollo/tasks/new/").status_code == 404


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owners_and_members_do_every_action_as_themselves(request, who, acme, work) -> None:
    user = request.getfixturevalue(who)
    client = client_for(user)
    second = work["second"]["id"]

    response = client.post(
        "/projects/apollo/tasks/new/",
        {
            "title": "Write the runbook",
            "description": "**Steps**",
            "priority": "medium",
            "assignee": "bob@example.com",
            "due_date": "2030-01-31",
            "labels": "Docs, ops",
            "blocked_by": [second],
        },
    )
    assert response.status_code == 302
    with tenant_scope(acme):
        made = Task.objects.get(title="Write the runbook")
        assert made.assignee_user_id == User.objects.get(email="bob@example.com").pk
        assert made.labels == ["docs", "ops"] and str(made.due_date) == "2030-01-31"
        assert list(made.blocked_by.values_list("pk", flat=True)) == [row(acme, second).pk]
    activity = last_activity(acme)
    assert activity.type == "task.created" and activity.actor_user == user and activity.tool == "dashboard"

    response = client.post(
        f"/tasks/{made.pk}/edit/",
        {"title": "Write the runbook now", "priority": "critical", "assignee": work["agent"]["slug"], "labels": ""},
    )
    assert response.status_code == 302
    made = row(acme, str(made.pk))
    assert made.title == "Write the runbook now" and made.priority == "critical" and made.labels == []
    assert made.assignee_agent_id is not None and made.due_date is None and made.description == ""
    with tenant_scope(acme):
        assert not made.blocked_by.exists()
    activity = last_activity(acme)
    assert activity.type == "task.updated" and activity.actor_user == user
    assert set(activity.metadata["fields"]) >= {"title", "priority", "assignee", "labels", "due_date", "blocked_by"}

    # The board's plain form: move, then back to the board with its filters.
    response = client.post(f"/tasks/{second}/status/", {"status": "in_progress", "next": "/projects/apollo/?label=api"})
    assert response.status_code == 302 and response["Location"] == "/projects/apollo/?label=api"
    assert row(acme, second).status == "in_progress" and row(acme, second).started_at is not None
    assert last_activity(acme).actor_user == user
    # Another site as `next` is never followed.
    response = client.post(f"/tasks/{second}/status/", {"status": "in_review", "next": "https://evil.example/"})
    assert response["Location"] == "/projects/apollo/"

    assert client.post(f"/tasks/{second}/complete/", {"notes": "Shipped."}).status_code == 302
    done = row(acme, second)
    assert done.status == "done" and done.completion_notes == "Shipped."
    assert last_activity(acme).type == "task.completed" and last_activity(acme).actor_user == user

    # Dragging a done card back reopens it.
    response = client.post(f"/tasks/{second}/status/", {"status": "todo"}, headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json() == {"id": second, "status": "todo"}
    assert last_activity(acme).type == "task.reopened"

    assert client.post(f"/tasks/{second}/delete/", {"reason": "duplicate"}).status_code == 302
    gone = row(acme, second)
    assert gone.deleted_at is not None and gone.deleted_by_id == user.pk and gone.delete_reason == "duplicate"
    assert client.get(f"/tasks/{second}/").status_code == 404
    assert last_activity(acme).type == "task.deleted" and last_activity(acme).actor_user == user


def test_bad_task_input_changes_nothing(alice, acme, work) -> None:
    client = client_for(alice)
    first, second = work["first"]["id"], work["second"]["id"]
    before = snapshot(acme)
    refused = {
        "a title too long": ("/projects/apollo/tasks/new/", {"title": "x" * 301, "priority": "medium"}),
        "a blank title": ("/projects/apollo/tasks/new/", {"title": "   ", "priority": "medium"}),
        "an unknown assignee": (
            f"/tasks/{first}/edit/",
            {"title": "First", "priority": "medium", "assignee": "nobody@x.org"},
        ),
        "another organization's member": (
            f"/tasks/{first}/edit/",
            {"title": "First", "priority": "medium", "assignee": "charlie@example.com"},
        ),
        "an unknown priority": (f"/tasks/{first}/edit/", {"title": "First", "priority": "urgent"}),
        "too many labels": (
            f"/tasks/{first}/edit/",
            {"title": "First", "priority": "medium", "labels": ",".join(f"l{n}" for n in range(21))},
        ),
        "a label too long": (f"/tasks/{first}/edit/", {"title": "First", "priority": "medium", "labels": "y" * 51}),
        "a blocker cycle": (
            f"/tasks/{second}/edit/",
            {"title": "Second", "priority": "high", "labels": "api", "blocked_by": [first]},
        ),
        "a description too long": (
            f"/tasks/{first}/edit/",
            {"title": "First", "priority": "medium", "description": "d" * 20_001},
        ),
        "an unknown status": (f"/tasks/{first}/status/", {"status": "later"}),
    }
    for case, (url, data) in refused.items():
        response = client.post(url, data)
        assert response.status_code == 400 or (url.endswith("/status/") and response.status_code == 302), case
        assert snapshot(acme) == before, case
    cycle = client.post(refused["a blocker cycle"][0], refused["a blocker cycle"][1]).content.decode()
    assert "a cycle is refused" in cycle
    unknown = client.post(refused["an unknown assignee"][0], refused["an unknown assignee"][1]).content.decode()
    assert "no agent or member of this organization by that name" in unknown
    # A move the workflow refuses: the board says why, nothing moves.
    tool_backlog = client.post(f"/tasks/{first}/status/", {"status": "backlog"})
    assert tool_backlog.status_code == 302
    before = snapshot(acme)
    response = client.post(f"/tasks/{first}/status/", {"status": "done"}, headers={"Accept": "application/json"})
    assert response.status_code == 409 and "cannot go from backlog to done" in response.json()["error"]
    followed = client.post(f"/tasks/{first}/status/", {"status": "in_review"}, follow=True).content.decode()
    assert "was not moved" in followed and "allowed: todo, in_progress, cancelled" in followed
    assert snapshot(acme) == before


def test_csrf_is_checked_on_every_form(alice, acme, work) -> None:
    client = client_for(alice, enforce_csrf_checks=True)
    before = snapshot(acme)
    for url, data in actions(work):
        assert client.post(url, data).status_code == 403, url
    assert snapshot(acme) == before


def test_completing_a_parent_with_open_subtasks_lists_them_and_can_close_them(alice, acme, work) -> None:
    client = client_for(alice)
    parent, sub = work["parent"]["id"], work["sub"]["id"]
    before = snapshot(acme)
    refused = client.post(f"/tasks/{parent}/status/", {"status": "done"})
    assert refused.status_code == 409
    body = refused.content.decode()
    assert "open subtasks" in body and f'href="/tasks/{sub}/"' in body and "Mark its open subtasks done too" in body
    as_json = client.post(f"/tasks/{parent}/status/", {"status": "done"}, headers={"Accept": "application/json"})
    assert as_json.status_code == 409 and as_json.json()["open_subtasks"][0]["id"] == sub
    assert as_json.json()["complete_url"] == f"/tasks/{parent}/complete/"
    assert client.post(f"/tasks/{parent}/complete/", {}).status_code == 409
    assert snapshot(acme) == before
    assert client.post(f"/tasks/{parent}/complete/", {"close_subtasks": "on"}).status_code == 302
    assert row(acme, parent).status == "done" and row(acme, sub).status == "done"
    with tenant_scope(acme):
        closed = Activity.objects.get(target_id=sub, type="task.completed")
    assert closed.actor_user_id == alice.pk and closed.metadata["closed_with"] == parent


def test_the_plan_limit_applies_to_people_too(settings, alice) -> None:
    settings.STRIPE_SECRET_KEY, settings.STRIPE_KEY = "sk_test_board", "pk_test_board"
    dora = User.objects.create_user("dora@example.com", "pw-dora-123456", name="Dora")
    tiny = organization_create(name="Tiny", owner=dora)  # the free plan
    with tenant_scope(tiny):
        project_create(actor=Actor(user_id=dora.pk), name="Small")
    limit = PLANS[PlanCode.FREE].limit(Resource.TASKS)
    UsageCounter.objects.update_or_create(
        organization=tiny, resource=Resource.TASKS.value, period=period_of(Resource.TASKS), defaults={"used": limit}
    )
    before = snapshot(tiny)
    response = client_for(dora).post("/projects/small/tasks/new/", {"title": "One more", "priority": "medium"})
    assert response.status_code == 400 and "the Free plan allows 100 tasks a month" in response.content.decode()
    assert snapshot(tiny) == before


def test_the_board_filters_and_shows_what_a_card_needs(alice, acme, work) -> None:
    client = client_for(alice)
    body = client.get("/projects/apollo/").content.decode()
    first = body.split(f'id="task-{work["first"]["id"]}"', 1)[1].split("</article>", 1)[0]
    assert '<span class="badge p-medium">medium</span>' in first  # medium shows too
    assert "Apollo bot" in first and "Waits for" in first and "Second" in first
    assert 'draggable="true"' in body and 'tabindex="0"' in body and "Move…" in body
    # Empty columns are marked (folded by the stylesheet); every status keeps a column.
    assert body.count("data-empty") == 6 and body.count('class="column status-') == 7
    by_label = client.get("/projects/apollo/", {"label": "API"}).content.decode()
    assert "Second" in by_label.split('id="board"', 1)[1] and 'id="task-' + work["first"]["id"] not in by_label
    by_agent = client.get("/projects/apollo/", {"assignee": work["agent"]["slug"]}).content.decode()
    assert 'id="task-' + work["first"]["id"] in by_agent and 'id="task-' + work["second"]["id"] not in by_agent
    by_priority = client.get("/projects/apollo/", {"priority": "high"}).content.decode()
    assert 'id="task-' + work["second"]["id"] in by_priority and 'id="task-' + work["parent"]["id"] not in by_priority
    assert client.get("/projects/apollo/", {"assignee": "ghost@example.com"}).status_code == 400
    assert client.get("/projects/apollo/", {"priority": "urgent"}).status_code == 400
    # The board alone, for the script's refresh, with the same filters.
    fragment = client.get("/projects/apollo/", {"fragment": "board", "label": "api"})
    text = fragment.content.decode()
    assert fragment.status_code == 200 and text.lstrip().startswith('<div class="board statuses" id="board"')
    assert "<html" not in text and "Second" in text and "First" not in text
    assert 'data-refresh="/projects/apollo/?fragment=board&amp;label=api"' in text


def test_agents_are_created_edited_archived_and_restored(bob, acme, work) -> None:
    client = client_for(bob)
    assigned = client.get(f"/agents/{work['agent']['slug']}/").content.decode().split('id="assigned"', 1)[1]
    assert f'href="/tasks/{work["first"]["id"]}/"' in assigned.split("</ul>", 1)[0]
    response = client.post(
        "/agents/new/",
        {
            "name": "Reviewer",
            "role": "reviews PRs",
            "skills": "python, review",
            "memory_scope": "project",
            "project": "apollo",
            "model": "claude",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/agents/reviewer/"
    with tenant_scope(acme):
        agent = Agent.objects.get(slug="reviewer")
    assert agent.skills == ["python", "review"] and agent.project_id is not None and agent.model == "claude"
    assert last_activity(acme).type == "agent.created" and last_activity(acme).actor_user == bob
    page = client.get("/agents/reviewer/").content.decode()
    assert "reviews PRs" in page and "Archive" in page
    assert "Reviewer" in client.get("/agents/").content.decode()

    response = client.post(
        "/agents/reviewer/edit/",
        {"name": "Reviewer", "role": "reviews everything", "skills": "python", "memory_scope": "project"},
    )
    assert response.status_code == 302
    with tenant_scope(acme):
        agent.refresh_from_db()
    assert agent.role == "reviews everything" and agent.skills == ["python"]
    edited = last_activity(acme)
    assert (
        edited.type == "agent.updated" and edited.actor_user == bob and edited.metadata["fields"] == ["role", "skills"]
    )

    assert client.post("/agents/reviewer/status/", {"status": "archived"}).status_code == 302
    assert last_activity(acme).type == "agent.archived" and last_activity(acme).actor_user == bob
    assert "/agents/reviewer/" not in client.get("/agents/").content.decode()
    assert "Reviewer" in client.get("/agents/", {"status": "archived"}).content.decode()
    assert "Restore" in client.get("/agents/reviewer/").content.decode()
    assert client.post("/agents/reviewer/status/", {"status": "active"}).status_code == 302
    with tenant_scope(acme):
        assert Agent.objects.get(slug="reviewer").status == AgentStatus.ACTIVE


def test_bad_agent_input_changes_nothing(alice, acme, work) -> None:
    client = client_for(alice)
    before = snapshot(acme)
    for data in (
        {"name": "n" * 121, "memory_scope": "private"},
        {"name": "  ", "memory_scope": "private"},
        {"name": "Scoped", "memory_scope": "project"},  # a project scope without a project
        {"name": "Skilled", "memory_scope": "private", "skills": ",".join(f"s{n}" for n in range(51))},
        {"name": "Lost", "memory_scope": "private", "project": "nowhere"},
        {"name": "Odd", "memory_scope": "everything"},
    ):
        assert client.post("/agents/new/", data).status_code == 400, data
    assert client.post(f"/agents/{work['agent']['slug']}/status/", {"status": "gone"}).status_code == 302
    assert snapshot(acme) == before
    refusal = client.post("/agents/new/", {"name": "Scoped", "memory_scope": "project"}).content.decode()
    assert "memory_scope project needs an agent with a project" in refusal
