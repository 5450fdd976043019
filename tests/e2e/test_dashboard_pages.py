"""The dashboard in a real browser against a real server: every page renders (on a
desktop and, for a few, on a phone), agents' hostile text stays text, and the activity
feed shows a tool call's row without a reload."""

from __future__ import annotations

from typing import Any

import httpx2
from django.test import Client

from memory.tasks import embed_now
from tests.dashboard.dashboard_world import build
from tests.e2e.conftest import SCREENSHOTS, screenshot

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
PHONE = {"width": 390, "height": 844}


def sign_in(page: Any, live: Any, user: Any) -> None:
    """A session made in the test database the server shares, set as the browser's cookie."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live.url}])


def watch_dialogs(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


def test_every_dashboard_page_renders(live, page, alice, acme, alice_id) -> None:
    world = build(alice_id, hostile=HOSTILE)
    embed_now([world["memory"]["id"]])  # so the search below finds it by meaning too
    sign_in(page, live, alice)
    dialogs = watch_dialogs(page)
    slug = world["project"]["slug"]
    pages = {
        "dashboard-overview": ("/", "Recent activity"),
        "dashboard-projects": ("/projects/", "Apollo"),
        "dashboard-project": (f"/projects/{slug}/", "Apollo in_review task"),
        "dashboard-task": (f"/tasks/{world['tasks']['todo']['id']}/", "Do the todo thing"),
        "dashboard-specs": (f"/projects/{slug}/specs/", "Apollo spec"),
        "dashboard-spec": (f"/specs/{world['spec']['slug']}/", "Second draft"),
        "dashboard-spec-v1": (f"/specs/{world['spec']['slug']}/versions/1/", "First draft"),
        "dashboard-memories": ("/memories/", "deploys go through staging"),
        "dashboard-memory-search": ("/memories/?q=what+is+our+deployment+process", "matched by vector"),
        "dashboard-decisions": ("/decisions/", "Apollo uses PostgreSQL"),
        "dashboard-decision": (f"/decisions/{world['decision']['id']}/", "Pinecone"),
        "dashboard-features": ("/features/", "1/3 review"),
        "dashboard-feature": (f"/features/{world['feature']['slug']}/", "Looks good"),
        "dashboard-notes": (f"/notes/?project={slug}", "Apollo note"),
        "dashboard-note": (f"/notes/{world['note']['id']}/", "Notes"),
        "dashboard-activity": ("/activity/", "task.created"),
    }
    for name, (path, expected) in pages.items():
        response = page.goto(f"{live.url}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        assert page.get_by_text(expected).first.is_visible(), (path, expected)
        screenshot(page, name)
    # Agents' text is shown as text: nothing it held ran.
    page.goto(f"{live.url}/tasks/{world['tasks']['todo']['id']}/")
    assert page.locator("h1").inner_text().endswith(HOSTILE)
    assert page.evaluate("window.__pwned") is None and dialogs == []
    # A phone.
    page.set_viewport_size(PHONE)
    for name, path in {
        "dashboard-overview-phone": "/",
        "dashboard-project-phone": f"/projects/{slug}/",
        "dashboard-feature-phone": f"/features/{world['feature']['slug']}/",
    }.items():
        page.goto(f"{live.url}{path}")
        # Nothing is wider than the screen (the board stacks its columns).
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        screenshot(page, name)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-top.png"))


def test_the_activity_feed_shows_a_tool_call_without_reload(live, page, alice, acme, alice_token, alice_id) -> None:
    project = build(alice_id)["project"]
    sign_in(page, live, alice)
    dialogs = watch_dialogs(page)
    page.goto(f"{live.url}/activity/")
    page.locator("#live-status", has_text="Live").wait_for()
    page.evaluate("window.__sameDocument = true")
    title = f"Wire the deploy button {HOSTILE}"
    response = httpx2.post(
        f"{live.url}/api/v1/tools/create_task",
        headers={"Authorization": f"Bearer {alice_token}"},
        json={"title": title, "project": project["slug"]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    row = page.locator("#feed > li").first
    row.filter(has_text="Wire the deploy button").wait_for(timeout=10_000)
    assert "task.created" in row.inner_text() and HOSTILE in row.inner_text()
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.evaluate("window.__pwned") is None and dialogs == []
    # The project's page hears its own project's rows only.
    page.goto(f"{live.url}/projects/{project['slug']}/")
    page.locator("#live-status", has_text="Live").wait_for()
    other = httpx2.post(
        f"{live.url}/api/v1/tools/create_project",
        headers={"Authorization": f"Bearer {alice_token}"},
        json={"name": "Elsewhere"},
        timeout=10,
    )
    mine = httpx2.post(
        f"{live.url}/api/v1/tools/log_activity",
        headers={"Authorization": f"Bearer {alice_token}"},
        json={"type": "deploy.finished", "description": "shipped to staging", "project": project["slug"]},
        timeout=10,
    )
    assert other.status_code == 200 and mine.status_code == 200
    page.locator("#feed > li").first.filter(has_text="shipped to staging").wait_for(timeout=10_000)
    assert page.locator("#feed", has_text="Elsewhere").count() == 0
    screenshot(page, "dashboard-project-live")
