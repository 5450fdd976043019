"""Find and see: the header's search, the overview's trends, navigation, /specs/, the
landing page, the favicon, Orchestra's mail, rendered list text and the token step."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from dashboard.workplace import search as site_search
from dashboard.workplace import trends
from dashboard.workplace.charts import Series, line_chart, nice_ceiling
from memory.models import Memory
from memory.tasks import embed_now
from orchestra.markdown import markdown_excerpt
from orchestra.tenancy import tenant_scope
from tests.dashboard.dashboard_world import build, tool

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(alice_id: Any) -> dict[str, Any]:
    return build(alice_id)


@pytest.fixture
def zeus(charlie_id: Any) -> dict[str, Any]:
    return build(charlie_id, "Zeus")


def titles(response: Any) -> dict[str, list[str]]:
    return {group.kind: [r.title for r in group.results] for group in response.context["groups"]}


# Search


def test_search_finds_every_kind_grouped(alice, world) -> None:
    embed_now([world["memory"]["id"]])
    response = client_for(alice).get("/search/", {"q": "Apollo"})
    assert response.status_code == 200
    found = titles(response)
    assert list(found) == ["tasks", "notes", "decisions", "specs", "memories"]
    assert "Apollo todo task" in found["tasks"] and "Apollo deleted task" not in found["tasks"]
    assert found["notes"] == ["Apollo note"]
    assert "Apollo uses PostgreSQL" in found["decisions"]
    assert found["specs"] == ["Apollo spec"]
    assert any("deploys go through staging" in t for t in found["memories"])
    html = response.content.decode()
    assert 'id="results-memories"' in html and f'href="/tasks/{world["tasks"]["todo"]["id"]}/"' in html
    # The header's box keeps the query; the kinds with their own list link to it.
    assert 'id="site-search" name="q" maxlength="200" placeholder="Search…" value="Apollo"' in html
    assert 'href="/notes/?q=Apollo"' in html


def test_search_matches_words_in_a_task_description_and_a_spec_text(alice, alice_id, world) -> None:
    tool(alice_id, "create_spec", title="Billing", project=world["project"]["slug"], content="Invoices use zebra ids")
    found = titles(client_for(alice).get("/search/", {"q": "zebra"}))
    assert found["specs"] == ["Billing"] and found["tasks"] == []
    found = titles(client_for(alice).get("/search/", {"q": "todo THING"}))  # "Do the **todo** thing."
    assert found["tasks"] == ["Apollo todo task"]


def test_search_never_reaches_another_organization(alice, charlie, world, zeus) -> None:
    embed_now([zeus["memory"]["id"]])
    found = titles(client_for(alice).get("/search/", {"q": "Zeus deploys"}))
    assert all("Zeus" not in title for rows in found.values() for title in rows), found
    found = titles(client_for(charlie).get("/search/", {"q": "Apollo"}))
    assert all(not rows for rows in found.values()), found
    assert titles(client_for(charlie).get("/search/", {"q": "Zeus"}))["specs"] == ["Zeus spec"]


def test_search_is_bounded(alice, alice_id, world) -> None:
    client = client_for(alice)
    too_long = client.get("/search/", {"q": "x" * (site_search.QUERY_CHARS + 1)})
    assert too_long.status_code == 400 and too_long.context["groups"] == []
    assert "at most 200 characters" in too_long.content.decode()
    for n in range(site_search.PER_KIND + 2):
        tool(alice_id, "create_task", title=f"Needle {n}", project=world["project"]["slug"])
    found = titles(client.get("/search/", {"q": "needle"}))
    assert len(found["tasks"]) == site_search.PER_KIND
    assert found["tasks"][0] == f"Needle {site_search.PER_KIND + 1}"  # most recently changed first
    empty = client.get("/search/", {"q": "  "})
    assert empty.status_code == 200 and empty.context["groups"] == []
    assert Client().get("/search/?q=Apollo").status_code == 302  # signed in only


# Navigation and /specs/


def test_the_menu_marks_the_section_of_every_page(alice, world) -> None:
    client = client_for(alice)
    expected = {
        f"/notes/{world['note']['id']}/": "Notes",
        "/notes/": "Notes",
        f"/specs/{world['spec']['slug']}/": "Specs",
        "/specs/": "Specs",
        f"/tasks/{world['tasks']['todo']['id']}/": "Projects",
        "/search/?q=x": None,
        # The editors (issue 19) sit in the section of what they edit.
        "/notes/new/": "Notes",
        f"/notes/{world['note']['id']}/edit/": "Notes",
        f"/specs/{world['spec']['slug']}/edit/": "Specs",
        f"/specs/{world['spec']['slug']}/diff/": "Specs",
        f"/projects/{world['project']['slug']}/specs/new/": "Specs",
        f"/tasks/{world['tasks']['todo']['id']}/edit/": "Projects",
        "/agents/new/": "Agents",
    }
    for url, item in expected.items():
        html = client.get(url).content.decode()
        nav = html.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
        assert '<a href="/notes/"' in nav and '<a href="/specs/"' in nav
        current = re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', nav)
        assert current == ([item] if item else []), (url, current)


def test_specs_list_across_projects(alice, alice_id, world, zeus) -> None:
    other = tool(alice_id, "create_project", name="Hermes")
    tool(alice_id, "create_spec", title="Hermes spec", project=other["slug"], content="x")
    client = client_for(alice)
    response = client.get("/specs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Apollo spec" in html and "Hermes spec" in html and "Zeus spec" not in html
    assert 'href="/projects/hermes/specs/">Hermes</a>' in html
    only = client.get("/specs/", {"project": "hermes"}).content.decode()
    assert "Hermes spec" in only and "Apollo spec" not in only
    assert client.get("/specs/", {"project": zeus["project"]["slug"]}).status_code == 400
    assert client.get("/specs/", {"status": "nonsense"}).status_code == 400


# Landing page, favicon, mail


def test_the_landing_page_is_for_people_not_signed_in(alice, world) -> None:
    response = Client().get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "A shared workplace for your AI coding agents" in html
    assert 'href="/accounts/signup/"' in html and 'href="/accounts/login/"' in html
    assert 'id="site-search"' not in html  # no search box for visitors
    overview = client_for(alice).get("/")
    assert overview.status_code == 200 and "Recent activity" in overview.content.decode()


def test_a_favicon_is_linked_and_answered(alice) -> None:
    client = Client()
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"] == "/static/favicon.svg"
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in b"".join(svg.streaming_content)  # type: ignore[attr-defined]


def test_the_verification_mail_says_orchestra(db, mailoutbox, settings) -> None:
    response = Client().post(
        "/accounts/signup/",
        {"email": "erin@example.com", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
    )
    assert response.status_code == 302
    (mail,) = mailoutbox
    assert mail.subject == "[Orchestra] Confirm your email address"
    assert mail.body.startswith("Hello from Orchestra!")
    assert "to sign up for Orchestra" in mail.body and "/accounts/confirm-email/" in mail.body
    assert "testserver" not in mail.body.replace("http://testserver/accounts/confirm-email/", "")
    assert settings.APP_URL in mail.body
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+)", mail.body)
    assert link is not None
    confirm = Client().get(link.group(1)).content.decode()
    assert "<title>Confirm your email address · Orchestra</title>" in confirm
    assert "<strong>erin@example.com</strong> for your Orchestra account" in confirm


def test_allauth_pages_speak_orchestra(alice) -> None:
    assert "Log out of Orchestra?" in client_for(alice).get("/accounts/logout/").content.decode()
    client = Client()
    login = client.get("/accounts/login/").content.decode()
    assert "<title>Sign in · Orchestra</title>" in login
    assert "Sign in to Orchestra" in login
    signup = client.get("/accounts/signup/").content.decode()
    assert "Create your Orchestra account" in signup
    reset = client.get("/accounts/password/reset/").content.decode()
    assert "<title>Reset your password · Orchestra</title>" in reset


# Lists, onboarding


def test_lists_show_rendered_trimmed_text_not_markdown(alice, alice_id, world) -> None:
    described = "# Goal\n\nShip **fast** and `safely`. " + "x " * 200
    tool(alice_id, "create_project", name="Markdowny", description=described)
    tool(alice_id, "create_note", title="Formatted", content="## Plan\n\n- **one** thing\n- [two](https://example.com)")
    client = client_for(alice)
    projects = client.get("/projects/").content.decode()
    assert "Goal Ship fast and safely." in projects and "**fast**" not in projects and "# Goal" not in projects
    notes = client.get("/notes/").content.decode()
    assert "Plan one thing two" in notes and "**one**" not in notes and "](https" not in notes


def test_markdown_excerpt_is_plain_text_cut_at_a_word() -> None:
    text = "# Title\n\nSome **bold** & <script>alert(1)</script> words [here](javascript:x)"
    assert markdown_excerpt(text, 200) == "Title Some bold & words here"
    assert markdown_excerpt(text, 16) == "Title Some bold…"
    assert markdown_excerpt("", 10) == "" and markdown_excerpt(None, 10) == ""


def test_the_token_step_is_done_once_a_token_exists(alice, acme, issue_token) -> None:
    client = client_for(alice)
    before = client.get("/onboarding/token").content.decode()
    assert "✓" not in before.split("Create a token")[0].rsplit("<li", 1)[1]
    issue_token(alice, acme)
    after = client.get("/onboarding/token").content.decode()
    step = after.split("Create a token")[0].rsplit("<li", 1)[1]
    assert "done" in step and "✓" in step
    made = client.post("/onboarding/token", {"name": "Laptop", "mode": "live"})
    assert made.status_code == 200 and 'Create a token<span class="visually-hidden"> (done)' in made.content.decode()


# Trends


def test_trends_count_per_day_and_per_agent(alice, alice_id, acme, world) -> None:
    client = client_for(alice)
    response = client.get("/")
    tasks_chart = response.context["tasks_chart"]
    opened, completed = tasks_chart.series
    assert opened.values[-1] == 7 and sum(opened.values) == 7  # the deleted task is not counted
    assert completed.values[-1] == 1 and sum(completed.values) == 1
    assert len(tasks_chart.days) == trends.DAYS and tasks_chart.days[-1] == timezone.now().date()
    bars = response.context["agents_chart"].bars
    assert [(b.label, b.value) for b in bars][1] == ("Apollo bot", 1) and bars[0].label == "No agent named"
    assert response.context["memories_chart"].series[0].values[-1] == 1
    html = response.content.decode()
    assert html.count('role="img" aria-labelledby="chart-') == 3
    assert '<title id="chart-tasks-t">Tasks opened and completed per day, last 30 days</title>' in html
    assert "7 tasks opened and 1 completed in the last 30 days" in html
    # Every tile is a link to its list.
    stats = html.split('<div class="stats">', 1)[1].split("</div>", 1)[0]
    assert stats.count('<a class="stat"') == 6 and '<div class="stat"' not in stats


def test_memory_growth_counts_what_was_held_before_the_window(alice_id, acme) -> None:
    tool(alice_id, "store_memory", content="Old fact about the build", scope="organization")
    tool(alice_id, "store_memory", content="New fact about the deploy", scope="organization")
    with tenant_scope(acme):
        Memory.objects.filter(content__startswith="Old").update(created_at=timezone.now() - timedelta(days=90))
        held = trends.memories_per_day(trends.window())
    assert held[0] == 1 and held[-1] == 2


def test_line_chart_geometry() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 51, 100)] == [1, 1, 5, 10, 20, 100, 100]
    days = trends.window(date(2026, 1, 31), days=3).days
    chart = line_chart("c", "t", "d", days, [Series("a", "a", [0, 5, 10])])
    assert chart.series[0].points == "28.0,118.0 178.0,63.0 328.0,8.0"
    assert [label for _, label in chart.x_labels] == ["Jan 29", "Jan 30", "Jan 31"]
    assert [t.label for t in chart.ticks] == ["0", "5", "10"]
    assert chart.rows[0] == (date(2026, 1, 31), [10])
