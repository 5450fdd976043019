"""The Content-Security-Policy in a real browser: no page breaks it, and what needs
script still works under it (the organization switcher, copy buttons, the live feed's
WebSocket, the progress bars)."""

from __future__ import annotations

from typing import Any

from accounts.services import organization_create
from tests.dashboard.dashboard_world import build
from tests.e2e.conftest import screenshot
from tests.e2e.test_dashboard_pages import sign_in

# Runs before any page script (DevTools injects it; the page's CSP does not apply).
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__csp"))


def test_pages_work_under_their_policy(live, page, alice, acme, alice_id) -> None:
    organization_create(name="Second org", owner=alice)
    world = build(alice_id)
    sign_in(page, live, alice)
    page.add_init_script(RECORD_VIOLATIONS)
    refused: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))

    for path in ("/", "/projects/", f"/features/{world['feature']['slug']}/", "/features/", "/members/", "/tokens/"):
        response = page.goto(f"{live.url}{path}")
        assert response is not None and response.status == 200, path
        assert response.headers.get("content-security-policy"), path
        assert violations(page) == [], (path, violations(page))

    # The live feed connects its WebSocket (connect-src allows this host's ws:).
    page.goto(f"{live.url}/activity/")
    page.locator("#live-status", has_text="Live").wait_for()

    # Progress bars show their value without a style attribute.
    page.goto(f"{live.url}/features/")
    bar = page.locator("progress.progress").first
    assert bar.get_attribute("value") == "1" and bar.bounding_box()["width"] > 50
    screenshot(page, "csp-features")

    # Copy buttons (a nonce'd script) still copy.
    page.goto(f"{live.url}/connect/")
    button = page.locator("[data-copy]").first
    button.click()
    page.locator("[data-copy]", has_text="Copied").first.wait_for()

    # The organization switcher (no inline handler any more) still switches.
    page.goto(f"{live.url}/")
    page.select_option("#org-switch", label="Second org")
    page.wait_for_url(f"{live.url}/**")
    page.locator(".orgname, #org-switch").first.wait_for()
    assert page.locator("#org-switch option:checked").inner_text() == "Second org"

    assert violations(page) == [] and refused == [], (violations(page), refused)
