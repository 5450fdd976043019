"""Every page people see, in a real browser: axe-core (npm, tests/node) finds no
serious or critical accessibility violation, nothing is wider than a phone, and each
page is kept as a screenshot at desktop and phone width (test-artifacts/screenshots/).
The header's search box is used once, as a person would.

A new page is one line in PAGES (signed in as the organization's owner) or VISITOR_PAGES."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse

from tests.conftest import ROOT
from tests.e2e.conftest import screenshot
from tests.e2e.test_dashboard_pages import sign_in

AXE = ROOT / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")

World = dict[str, Any]
Page = tuple[str, str, Callable[[World], list[Any]], str]


def no_args(world: World) -> list[Any]:
    return []


# (screenshot name, URL name, its arguments from the world, query string)
PAGES: list[Page] = [
    ("overview", "web:home", no_args, ""),
    ("search", "web:search", no_args, "q=Apollo+staging"),
    ("projects", "web:projects", no_args, ""),
    ("project", "web:project", lambda w: [w["project"]["slug"]], ""),
    ("project-specs", "web:project-specs", lambda w: [w["project"]["slug"]], ""),
    ("task", "web:task", lambda w: [w["tasks"]["todo"]["id"]], ""),
    ("task-new", "web:task-create", lambda w: [w["project"]["slug"]], ""),
    ("task-edit", "web:task-edit", lambda w: [w["tasks"]["todo"]["id"]], ""),
    ("task-complete", "web:task-complete", lambda w: [w["tasks"]["in_progress"]["id"]], ""),
    ("task-delete", "web:task-delete", lambda w: [w["tasks"]["todo"]["id"]], ""),
    ("agents", "web:agents", no_args, ""),
    ("agent", "web:agent", lambda w: [w["agent"]["slug"]], ""),
    ("agent-new", "web:agent-create", no_args, ""),
    ("agent-edit", "web:agent-edit", lambda w: [w["agent"]["slug"]], ""),
    ("specs", "web:specs", no_args, ""),
    ("spec", "web:spec", lambda w: [w["spec"]["slug"]], ""),
    ("spec-v1", "web:spec-version", lambda w: [w["spec"]["slug"], 1], ""),
    ("spec-new", "web:spec-new", lambda w: [w["project"]["slug"]], ""),
    ("spec-edit", "web:spec-edit", lambda w: [w["spec"]["slug"]], ""),
    ("spec-diff", "web:spec-diff", lambda w: [w["spec"]["slug"]], ""),
    ("notes", "web:notes", no_args, ""),
    ("note", "web:note", lambda w: [w["note"]["id"]], ""),
    ("note-new", "web:note-new", no_args, ""),
    ("note-edit", "web:note-edit", lambda w: [w["note"]["id"]], ""),
    ("memories", "web:memories", no_args, ""),
    ("memory-search", "web:memories", no_args, "q=how+do+we+deploy"),
    ("memory", "web:memory", lambda w: [w["memory"]["id"]], ""),
    ("memory-duplicates", "web:memory-duplicates", no_args, ""),
    ("decisions", "web:decisions", no_args, ""),
    ("decision", "web:decision", lambda w: [w["decision"]["id"]], ""),
    ("features", "web:features", no_args, ""),
    ("feature", "web:feature", lambda w: [w["feature"]["slug"]], ""),
    ("activity", "web:activity", no_args, ""),
    ("tokens", "web:tokens", no_args, ""),
    ("members", "web:members", no_args, ""),
    ("connect", "web:connect", no_args, ""),
    ("github", "web:github", no_args, ""),
    ("onboarding-invite", "web:onboarding-invite", no_args, ""),
    ("onboarding-token", "web:onboarding-token", no_args, ""),
    ("audit", "web:audit", no_args, ""),
    ("portability", "web:portability", no_args, ""),
    ("organization-delete", "web:organization-delete", no_args, ""),
    ("account", "web:account", no_args, ""),
    ("account-delete", "web:account-delete", no_args, ""),
    ("account-email", "account_email", no_args, ""),
    ("account-password", "account_change_password", no_args, ""),
    # Billing is absent (404) on a server without Stripe: tests/e2e/test_billing_checkout.py
    # drives it on its own server.
]
VISITOR_PAGES: list[Page] = [
    ("landing", "web:home", no_args, ""),
    ("sign-in", "account_login", no_args, ""),
    ("sign-up", "account_signup", no_args, ""),
    ("password-reset", "account_reset_password", no_args, ""),
]


def url_of(live: Any, entry: Page, world: World) -> str:
    _, name, args, query = entry
    return f"{live.url}{reverse(name, args=args(world))}{'?' + query if query else ''}"


def blocking_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations of the page, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern
        # (a <script> tag would be refused: it has no nonce).
        page.evaluate(AXE.read_text())
    results = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
        for v in results
        if v["impact"] in BLOCKING
    ]


def visit_all(live: Any, page: Any, entries: list[Page], world: World, prefix: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entry in entries:
        name, url = entry[0], url_of(live, entry, world)
        page.set_viewport_size(DESKTOP)
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        violations = blocking_violations(page)
        if violations:
            found[url] = violations
        screenshot(page, f"{prefix}-{name}")
        page.set_viewport_size(PHONE)  # the page reflows; no second load
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= PHONE["width"], (url, wide)
        screenshot(page, f"{prefix}-{name}-phone")
    return found


def test_every_page_is_accessible_and_kept_as_screenshots(live, page, alice, acme, alice_id) -> None:
    from memory.tasks import embed_now
    from tests.dashboard.dashboard_world import build

    assert AXE.exists(), "axe-core is missing: `make install` installs tests/node"
    world = build(alice_id)
    embed_now([world["memory"]["id"]])
    found = visit_all(live, page, VISITOR_PAGES, world, "visitor")
    sign_in(page, live, alice)
    found |= visit_all(live, page, PAGES, world, "page")
    assert not found, "\n".join(f"{url}\n  " + "\n  ".join(lines) for url, lines in found.items())


def test_the_header_search_box(live, page, alice, acme, alice_id) -> None:
    from tests.dashboard.dashboard_world import build

    world = build(alice_id)
    sign_in(page, live, alice)
    page.goto(f"{live.url}/projects/")
    box = page.get_by_role("searchbox", name="Search tasks, notes, decisions, specs and memories")
    box.fill("Apollo spec")
    box.press("Enter")
    page.wait_for_url("**/search/?q=Apollo+spec")
    specs = page.locator("#results-specs")
    specs.get_by_role("link", name="Apollo spec").click()
    page.wait_for_url(f"**/specs/{world['spec']['slug']}/")
    assert page.locator('nav.mainnav a[aria-current="page"]').inner_text() == "Specs"
    # On a phone the menu scrolls sideways, and opens on the current page's item.
    page.set_viewport_size(PHONE)
    page.goto(f"{live.url}/activity/")
    assert page.evaluate("document.querySelector('nav.mainnav').scrollLeft") > 0
    current = page.locator('nav.mainnav a[aria-current="page"]')
    assert current.inner_text() == "Activity" and current.is_visible()
    box, nav = current.bounding_box(), page.locator("nav.mainnav").bounding_box()
    assert box is not None and nav is not None and box["x"] + box["width"] <= nav["x"] + nav["width"]
