"""The project board in a real browser: a card dragged to another column, a card moved
with the keyboard alone, and a task an agent moves appearing on an open board without a
reload; each move is the person's (or the agent's) in the activity rows, and nothing
breaks the page's Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import httpx2
from playwright.sync_api import expect

from orchestra.tenancy import tenant_scope
from tests.dashboard.dashboard_world import tool
from tests.e2e.conftest import screenshot
from tests.e2e.test_csp_in_browser import RECORD_VIOLATIONS, violations
from tests.e2e.test_dashboard_pages import PHONE, sign_in
from tools.activity.models import Activity
from tools.tasks.models import Task


def small_board(identity: Any) -> dict[str, Any]:
    tool(identity, "create_project", name="Apollo")
    agent = tool(identity, "create_agent", name="Apollo bot", project="apollo")
    ship = tool(identity, "create_task", title="Ship the board", project="apollo", assignee=agent["slug"])
    docs = tool(
        identity, "create_task", title="Write the docs", project="apollo", labels=["docs"], blocked_by=[ship["id"]]
    )
    return {"ship": ship, "docs": docs}


def card_in(page: Any, status: str, task_id: str) -> Any:
    return page.locator(f'#board .column[data-status="{status}"] #task-{task_id}')


def moved_by(org: Any, task_id: str) -> tuple[str, Any]:
    with tenant_scope(org):
        task = Task.objects.get(pk=task_id)
        activity = Activity.objects.filter(target_id=task_id).order_by("-created_at", "-id").first()
        assert activity is not None
        return task.status, activity.actor_user_id


REFRESHED = """window.__refreshed = false;
document.getElementById("board").addEventListener(
  "board:refreshed", function () { window.__refreshed = true; }, {once: true});"""


def open_board(page: Any, live: Any) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live.url}/projects/apollo/")
    page.locator("#live-status", has_text="Live").wait_for()


def test_a_card_is_dragged_and_another_moved_by_keyboard(live, page, alice, acme, alice_id) -> None:
    tasks = small_board(alice_id)
    ship, docs = tasks["ship"]["id"], tasks["docs"]["id"]
    sign_in(page, live, alice)
    open_board(page, live)
    screenshot(page, "board")

    # A drag from To do to In progress (an empty column, folded to a strip).
    page.locator(f"#task-{ship}").drag_to(page.locator('#board .column[data-status="in_progress"]'))
    card_in(page, "in_progress", ship).wait_for()
    page.locator("#board-status", has_text="Moved Ship the board to In progress.").wait_for(state="attached")
    assert moved_by(acme, ship) == ("in_progress", alice.pk)

    # A refresh that was already on its way when the person focused another card leaves
    # focus where the person put it (it once handed it back to the moved card).
    held: list[Any] = []
    page.route(lambda url: "fragment=board" in url, lambda route: held.append(route))
    page.evaluate("document.dispatchEvent(new CustomEvent('orchestra:activity', {detail: {target_type: 'task'}}))")
    while not held:
        page.wait_for_timeout(25)
    page.evaluate(REFRESHED)
    card = page.locator(f"#task-{docs}")
    card.focus()
    for route in held:
        route.continue_()
    page.unroute_all()
    while not page.evaluate("window.__refreshed"):  # wait_for_function would need eval, which CSP forbids
        page.wait_for_timeout(25)
    expect(page.locator(f"#task-{docs}")).to_be_focused()

    # The keyboard alone: focus the card, → → picks In progress then Blocked, Enter moves.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert "Blocked" in page.locator("#board-status").inner_text()
    page.keyboard.press("Enter")
    page.locator("#board-status", has_text="Moved Write the docs to Blocked.").wait_for(state="attached")
    card_in(page, "blocked", docs).wait_for()
    assert moved_by(acme, docs) == ("blocked", alice.pk)
    # The refreshed board keeps the moved card focused, so the keyboard can go on.
    expect(page.locator(f"#task-{docs}")).to_be_focused()
    # A move the workflow refuses (blocked → done) says why and moves nothing.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.locator("#board-message", has_text="cannot go from blocked to done").wait_for()
    card_in(page, "blocked", docs).wait_for()
    assert moved_by(acme, docs) == ("blocked", alice.pk)
    assert violations(page) == []
    screenshot(page, "board-after-moves")

    # The forms people act through, kept as screenshots (desktop, then phone: nothing
    # wider than the screen, the board's columns stacked).
    pages = {
        "board-task-new": "/projects/apollo/tasks/new/",
        "board-task-edit": f"/tasks/{docs}/edit/",
        "board-task-complete": f"/tasks/{ship}/complete/",
        "board-task-delete": f"/tasks/{ship}/delete/",
        "board-agents": "/agents/",
        "board-agent": "/agents/apollo-bot/",
        "board-agent-new": "/agents/new/",
    }
    for name, path in pages.items():
        response = page.goto(f"{live.url}{path}")
        assert response is not None and response.status == 200, path
        screenshot(page, name)
    page.set_viewport_size(PHONE)
    for name, path in {"board-phone": "/projects/apollo/", "board-task-edit-phone": f"/tasks/{docs}/edit/"}.items():
        page.goto(f"{live.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        screenshot(page, name)
    assert violations(page) == []


def test_a_task_an_agent_moves_appears_on_an_open_board(live, page, alice, acme, alice_id, alice_token) -> None:
    ship = small_board(alice_id)["ship"]["id"]
    sign_in(page, live, alice)
    open_board(page, live)
    page.evaluate("window.__sameDocument = true")
    response = httpx2.post(
        f"{live.url}/api/v1/tools/update_task",
        headers={"Authorization": f"Bearer {alice_token}"},
        json={"task": ship, "status": "in_progress"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    card_in(page, "in_progress", ship).wait_for(timeout=10_000)
    assert page.locator('#board .column[data-status="in_progress"] .count').inner_text() == "1"
    assert page.locator('#board .column[data-status="todo"] .count').inner_text() == "1"
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert violations(page) == []
