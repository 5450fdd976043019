"""Dashboard pages: who may read them, what they show, and that another organization's
rows answer exactly like missing ones."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.auth import authenticate_token
from accounts.models import Role, User
from accounts.services import membership_set
from memory.models import Memory
from memory.tasks import embed_now
from tests.dashboard.dashboard_world import build, tool

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">go</a>'


@pytest.fixture
def dave(acme: Any) -> User:
    user = User.objects.create_user("dave@example.com", "pw-dave-123456", name="Dave")
    membership_set(organization=acme, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def world(alice_id: Any) -> dict[str, Any]:
    return build(alice_id, hostile=HOSTILE)


@pytest.fixture
def zeus(charlie_id: Any) -> dict[str, Any]:
    """Globex's rows: Acme's members must never reach them."""
    return build(charlie_id, "Zeus")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def list_pages(world: dict[str, Any]) -> dict[str, str]:
    """Each list page and a text it must show."""
    slug = world["project"]["slug"]
    return {
        "/": "Apollo",
        "/projects/": "Apollo",
        f"/projects/{slug}/specs/": "Apollo spec",
        "/memories/": "Apollo deploys go through staging first.",
        "/decisions/": "Apollo uses PostgreSQL",
        "/features/": "Apollo login",
        "/notes/": "Apollo note",
        "/activity/": "task.created",
    }


def detail_pages(world: dict[str, Any]) -> dict[str, str]:
    """Each page of one row, and a text it must show."""
    return {
        f"/projects/{world['project']['slug']}/": "The Apollo mission.",
        f"/projects/{world['project']['id']}/": "The Apollo mission.",
        f"/tasks/{world['tasks']['todo']['id']}/": "thing.",
        f"/specs/{world['spec']['slug']}/": "Second draft",
        f"/specs/{world['spec']['id']}/versions/1/": "First draft",
        f"/memories/{world['memory']['id']}/": "Apollo deploys go through staging first.",
        f"/decisions/{world['decision']['id']}/": "Pinecone",
        f"/features/{world['feature']['slug']}/": "1/3 review",
        f"/notes/{world['note']['id']}/": "Apollo note",
    }


@pytest.mark.parametrize("who", ["alice", "bob", "dave"])
def test_owner_member_and_viewer_read_every_page(who, request, world, zeus) -> None:
    client = client_for(request.getfixturevalue(who))
    for url, text in {**list_pages(world), **detail_pages(world)}.items():
        response = client.get(url)
        assert response.status_code == 200, (who, url, response.status_code)
        body = response.content.decode()
        assert text in body, (who, url, text)
        assert "Zeus" not in body, (who, url)  # nothing of Globex, ever


def test_anonymous_visitors_are_sent_to_login(world) -> None:
    client = Client()
    # "/" is the landing page for them (tests/dashboard/test_find_and_see.py).
    for url in {**list_pages(world), **detail_pages(world)}.keys() - {"/"}:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="), url


def test_another_organizations_rows_answer_exactly_like_missing_ones(alice, world, zeus) -> None:
    client = client_for(alice)
    missing = client.get(f"/decisions/{uuid.uuid4()}/")
    assert missing.status_code == 404
    foreign = {
        f"/projects/{zeus['project']['slug']}/": f"/projects/no-such-{uuid.uuid4().hex[:6]}/",
        f"/projects/{zeus['project']['id']}/": f"/projects/{uuid.uuid4()}/",
        f"/projects/{zeus['project']['slug']}/specs/": "/projects/nope/specs/",
        f"/tasks/{zeus['tasks']['todo']['id']}/": f"/tasks/{uuid.uuid4()}/",
        f"/specs/{zeus['spec']['slug']}/": "/specs/nope/",
        f"/specs/{zeus['spec']['slug']}/versions/1/": "/specs/nope/versions/1/",
        f"/memories/{zeus['memory']['id']}/": f"/memories/{uuid.uuid4()}/",
        f"/decisions/{zeus['decision']['id']}/": f"/decisions/{uuid.uuid4()}/",
        f"/features/{zeus['feature']['slug']}/": "/features/nope/",
        f"/notes/{zeus['note']['id']}/": f"/notes/{uuid.uuid4()}/",
    }
    for theirs, nothing in foreign.items():
        got, absent = client.get(theirs), client.get(nothing)
        assert got.status_code == absent.status_code == 404, theirs
        assert got.content == absent.content == missing.content, theirs
    # Malformed ids and a soft-deleted task are missing too.
    assert client.get("/tasks/not-a-uuid/").status_code == 404
    assert client.get(f"/tasks/{world['deleted_task']['id']}/").status_code == 404
    assert client.get(f"/specs/{world['spec']['slug']}/versions/9/").status_code == 404


def test_a_foreign_project_in_a_filter_is_an_error_not_a_leak(alice, world, zeus) -> None:
    client = client_for(alice)
    for url in ("/memories/", "/decisions/", "/features/", "/notes/", "/activity/"):
        response = client.get(url, {"project": zeus["project"]["slug"]})
        assert response.status_code == 400, url
        body = response.content.decode()
        assert "no such project" in body and "Zeus" not in body, url


def test_bad_filters_and_page_links_are_clear_errors(alice, world) -> None:
    client = client_for(alice)
    for url, params in {
        "/projects/": {"status": "deleted"},
        "/decisions/": {"status": "maybe"},
        "/features/": {"status": "sideways"},
        "/memories/": {"scope": "galaxy"},
        f"/projects/{world['project']['slug']}/specs/": {"status": "lost"},
    }.items():
        response = client.get(url, params)
        assert response.status_code == 400 and "Select a valid choice" in response.content.decode(), url
    assert client.get("/activity/", {"cursor": "forged!"}).status_code == 400
    assert client.get("/memories/", {"q": "x" * 2001}).status_code == 400


def test_agents_text_is_escaped_or_sanitised_everywhere(alice, world) -> None:
    client = client_for(alice)
    for url in {**list_pages(world), **detail_pages(world)}:
        body = client.get(url).content.decode()
        # Our own pages carry scripts (the live feed); theirs never survives as markup.
        assert '<script>alert("x")</script>' not in body, url
        assert not re.search(r"<[a-z][^<>]*\sonerror\s*=", body, re.IGNORECASE), url
        assert not re.search(r"<a\s[^<>]*href=\"\s*javascript:", body, re.IGNORECASE), url
    task = client.get(f"/tasks/{world['tasks']['todo']['id']}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in task  # the title: escaped text
    assert "<strong>todo</strong>" in task  # the description: markdown, sanitised


def test_the_project_board_has_every_status_and_no_deleted_task(alice, world) -> None:
    body = client_for(alice).get(f"/projects/{world['project']['slug']}/").content.decode()
    for title in ("Backlog", "To do", "In progress", "Blocked", "In review", "Done", "Cancelled"):
        assert f"<h3>{title} " in body, title
    for status in ("backlog", "todo", "in_progress", "blocked", "in_review", "done", "cancelled"):
        section = body.split(f'class="column status-{status}"', 1)[1].split("</section>", 1)[0]
        assert f"Apollo {status} task" in section, status
        assert '<span class="count">1</span>' in section, status
    assert "Apollo deleted task" not in body.split("<h2>Tasks</h2>", 1)[1].split("Recent activity", 1)[0]
    for link in ("/memories/?project=apollo", "/decisions/?project=apollo", "/projects/apollo/specs/"):
        assert link in body
    assert "/features/?project=apollo" in body and "/activity/?project=apollo" in body


def test_projects_list_active_and_archived(alice, alice_id, world) -> None:
    tool(alice_id, "create_project", name="Old times")
    tool(alice_id, "archive_project", project="old-times")
    client = client_for(alice)
    active = client.get("/projects/").content.decode()
    assert "Apollo" in active and "Old times" not in active
    archived = client.get("/projects/", {"status": "archived"}).content.decode()
    assert "Old times" in archived and "Apollo" not in archived
    everything = client.get("/projects/", {"status": "all"}).content.decode()
    assert "Old times" in everything and "Apollo" in everything
    # Apollo's counts: 5 open of 7 live tasks, a memory, two decisions, a feature, a spec.
    row = active.split("Apollo", 1)[1].split("</tr>", 1)[0]
    cells = [c.split("</td>")[0].strip() for c in row.split("<td>")[1:]]
    assert cells[:5] == ['5 <span class="muted">/ 7</span>', "1", "2", "1", "1"]
    # An archived memory is not counted (the memories tally less the archived one).
    Memory.unscoped.filter(project__name="Apollo").update(archived=True)
    row = client.get("/projects/").content.decode().split("Apollo", 1)[1].split("</tr>", 1)[0]
    assert [c.split("</td>")[0].strip() for c in row.split("<td>")[1:]][1] == "0"


def test_memories_hide_archived_filter_and_search_for_real(alice, alice_id, world, zeus) -> None:
    tool(alice_id, "store_memory", content="Tabs, never spaces, in the Go code.", scope="organization")
    old = tool(alice_id, "store_memory", content="We used to deploy by FTP.", scope="organization")["memory"]
    Memory.unscoped.filter(pk=old["id"]).update(archived=True)
    client = client_for(alice)
    listed = client.get("/memories/").content.decode()
    assert "Tabs, never spaces" in listed and "deploy by FTP" not in listed
    assert "deploy by FTP" in client.get("/memories/", {"archived": "on"}).content.decode()
    by_scope = client.get("/memories/", {"scope": "project"}).content.decode()
    assert "staging first" in by_scope and "Tabs" not in by_scope
    by_project = client.get("/memories/", {"project": world["project"]["slug"]}).content.decode()
    assert "staging first" in by_project and "Tabs" not in by_project
    # Words find an entry before its embedding exists...
    found = client.get("/memories/", {"q": "spaces"}).content.decode()
    assert "Tabs, never spaces" in found and "matched by keyword" in found and "staging" not in found
    # ...and meaning finds it once it is embedded; Globex's entry with the same words never.
    embed_now([str(pk) for pk in Memory.unscoped.values_list("pk", flat=True)])
    meant = client.get("/memories/", {"q": "indentation style for golang"}).content.decode()
    assert "Tabs, never spaces" in meant and "matched by vector" in meant
    assert "Zeus" not in client.get("/memories/", {"q": "deploys staging"}).content.decode()
    assert "deploy by FTP" not in client.get("/memories/", {"q": "FTP"}).content.decode()
    assert "deploy by FTP" in client.get("/memories/", {"q": "FTP", "archived": "on"}).content.decode()


def test_decision_page_shows_alternatives_discussion_and_supersession(alice, world) -> None:
    client = client_for(alice)
    new = client.get(f"/decisions/{world['decision']['id']}/").content.decode()
    assert "Pinecone" in new and "another service to run" in new
    assert "Agreed, ship it." in new and "<strong>pgvector</strong>" in new
    assert f'href="/decisions/{world["old_decision"]["id"]}/"' in new and "Supersedes" in new
    old = client.get(f"/decisions/{world['old_decision']['id']}/").content.decode()
    assert "Superseded by" in old and f'href="/decisions/{world["decision"]["id"]}/"' in old
    listed = client.get("/decisions/", {"status": "superseded"}).content.decode()
    assert "Apollo uses MySQL" in listed and "Apollo uses PostgreSQL" not in listed


def test_spec_versions_are_each_readable(alice, world) -> None:
    client = client_for(alice)
    spec = world["spec"]["slug"]
    latest = client.get(f"/specs/{spec}/").content.decode()
    assert "Second draft" in latest and "First draft" not in latest and "details" in latest
    first = client.get(f"/specs/{spec}/versions/1/").content.decode()
    assert "First draft" in first and "You are reading version 1" in first
    assert f'href="/specs/{spec}/versions/2/"' in first


def test_feature_progress_history_reviews_and_what_is_missing(alice, alice_id, bob, acme, issue_token, world) -> None:
    client = client_for(alice)
    listed = client.get("/features/").content.decode()
    assert "1/3 review" in listed and 'max="3" value="1"' in listed
    page = client.get(f"/features/{world['feature']['slug']}/").content.decode()
    assert "build → review" in page and "started at build" in page and "Looks good" in page
    assert "Nothing blocks the next gate." in page
    bob_id = authenticate_token(issue_token(bob, acme))  # reviews Alice's work
    waiting = tool(alice_id, "create_feature", title="Search", project=world["project"]["slug"], workflow="quick")
    tool(alice_id, "advance_feature", feature=waiting["slug"])
    tool(bob_id, "submit_review", feature=waiting["slug"], verdict="changes_requested", comments="Not yet")
    blocked = client.get(f"/features/{waiting['slug']}/").content.decode()
    assert "gate review needs an approved review" in blocked and "are outstanding" in blocked
    done = tool(alice_id, "create_feature", title="Logout", project=world["project"]["slug"], workflow="quick")
    tool(alice_id, "advance_feature", feature=done["slug"])
    tool(bob_id, "submit_review", feature=done["slug"], verdict="approved")
    tool(alice_id, "advance_feature", feature=done["slug"])
    assert "3/3 done" in client.get("/features/", {"status": "done"}).content.decode()


def test_activity_feed_filters_by_project_and_type(alice, alice_id, acme, world) -> None:
    other = tool(alice_id, "create_project", name="Hermes")
    tool(alice_id, "log_activity", type="deploy.finished", description="Hermes shipped", project=other["slug"])
    client = client_for(alice)
    everything = client.get("/activity/").content.decode()
    assert "Hermes shipped" in everything and "Apollo note" in everything
    assert f'data-socket="/ws/activity/?organization={acme.pk}"' in everything
    hermes = client.get("/activity/", {"project": other["slug"]}).content.decode()
    assert "Hermes shipped" in hermes and "Apollo note" not in hermes
    assert f'data-socket="/ws/activity/?organization={acme.pk}&amp;project={other["id"]}"' in hermes
    deleted = client.get("/activity/", {"type": "task.deleted"}).content.decode()
    assert "Apollo deleted task" in deleted and f"/tasks/{world['deleted_task']['id']}/" not in deleted
    deploys = client.get("/activity/", {"type": "deploy.finished"}).content.decode()
    assert "Hermes shipped" in deploys and "Apollo note" not in deploys
    assert "data-socket=" not in deploys  # a type filter is not live


def test_activity_pages_follow_the_cursor(alice, alice_id, acme) -> None:
    for n in range(55):
        tool(alice_id, "log_activity", type="tick.tock", description=f"tick {n:02d}")
    client = client_for(alice)
    first = client.get("/activity/")
    assert "tick 54" in first.content.decode() and "tick 04" not in first.content.decode()
    cursor = first.content.decode().split("cursor=", 1)[1].split('"', 1)[0]
    second = client.get(f"/activity/?cursor={cursor}").content.decode()
    assert "tick 04" in second and "tick 54" not in second and "data-socket" not in second


def test_overview_counts(alice, alice_id, world) -> None:
    body = client_for(alice).get("/").content.decode()
    assert "<h1>Acme</h1>" in body
    assert "<strong>1</strong><span>active projects</span>" in body
    assert "<strong>5</strong><span>open tasks · 1 in progress</span>" in body
    assert "<strong>2</strong><span>decisions · 1 accepted</span>" in body


def test_a_long_column_shows_the_most_urgent_fifty(alice, alice_id, world) -> None:
    slug = world["project"]["slug"]
    for n in range(51):
        tool(alice_id, "create_task", title=f"Chore {n:02d}", project=slug, priority="low")
    tool(alice_id, "create_task", title="Fire!", project=slug, priority="critical")
    body = client_for(alice).get(f"/projects/{slug}/").content.decode()
    todo = body.split('class="column status-todo"', 1)[1].split("</section>", 1)[0]
    assert todo.count('class="item"') == 50 and "Showing 50 of 53" in todo
    assert todo.index("Fire!") < todo.index("Apollo todo task") < todo.index("Chore 00")
    assert "Chore 47" in todo and "Chore 48" not in todo  # low priority: oldest first
