"""Editing in a real browser: the markdown editor's live preview (editor.js under the
page's CSP, the server rendering and sanitising), and a spec diff picked between two
versions. One test per kind of interaction; the rules are in
tests/dashboard/test_dashboard_editing.py."""

from __future__ import annotations

from typing import Any

from tests.dashboard.dashboard_world import tool
from tests.e2e.conftest import screenshot
from tests.e2e.test_csp_in_browser import RECORD_VIOLATIONS, violations
from tests.e2e.test_dashboard_pages import sign_in, watch_dialogs
from tools.specs.models import Spec, SpecVersion

HOSTILE = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'


def _spec(alice_id: Any) -> dict[str, Any]:
    tool(alice_id, "create_project", name="Apollo")
    spec = tool(alice_id, "create_spec", title="Landing", project="apollo", content="# Landing\n\nGo slow.\n\nEnd.")
    tool(alice_id, "update_spec", spec=spec["id"], content="# Landing\n\nGo slower.\n\nEnd.", change_note="safer")
    return spec


def test_editing_a_spec_with_live_preview(live, page, alice, acme, alice_id) -> None:
    spec = _spec(alice_id)
    sign_in(page, live, alice)
    page.add_init_script(RECORD_VIOLATIONS)
    dialogs = watch_dialogs(page)
    page.goto(f"{live.url}/specs/{spec['id']}/")
    page.get_by_role("link", name="Edit").click()
    preview = page.locator("#preview")
    preview.get_by_role("heading", name="Landing").wait_for()  # rendered on load, by the server

    # Typing updates the preview without a reload; agents' or people's HTML stays inert.
    page.get_by_label("Content").fill(f"# Touchdown\n\n**Slowly** now.\n\n{HOSTILE}")
    preview.get_by_role("heading", name="Touchdown").wait_for()
    assert preview.locator("strong").inner_text() == "Slowly"
    assert preview.locator("script, [onerror], img[src]").count() == 0
    assert page.evaluate("window.__pwned") is None and dialogs == []
    screenshot(page, "editing-spec-live-preview")

    page.get_by_label("Change note").fill("landed")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved as version 3.").wait_for()
    assert page.locator("article h1").inner_text() == "Touchdown"
    assert violations(page) == []
    saved = SpecVersion.unscoped.get(spec_id=spec["id"], number=3)
    assert saved.change_note == "landed" and saved.author_id == alice.pk


def test_comparing_two_spec_versions(live, page, alice, acme, alice_id) -> None:
    spec = _spec(alice_id)
    tool(alice_id, "update_spec", spec=spec["id"], content=f"# Landing\n\nGo slower.\n\n{HOSTILE}\n\nEnd.")
    sign_in(page, live, alice)
    page.goto(f"{live.url}/specs/{spec['id']}/")
    page.get_by_role("link", name="Compare versions").click()
    # The latest against the one before: the hostile line, added, shown as text.
    added = page.locator("tr.diff-added")
    assert added.count() == 2  # the line and the blank line after it
    assert HOSTILE in added.first.inner_text() and page.evaluate("window.__pwned") is None

    # Pick v1 to v3 in the version picker.
    page.get_by_label("From", exact=True).select_option("1")
    page.get_by_label("To", exact=True).select_option("3")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/diff/?old=1&new=3")
    removed = page.locator("tr.diff-removed td.code")
    assert "Go slow." in removed.all_inner_texts()[0]
    assert any("Go slower." in text for text in page.locator("tr.diff-added td.code").all_inner_texts())
    assert Spec.unscoped.get(pk=spec["id"]).version == 3
    screenshot(page, "editing-spec-diff")
