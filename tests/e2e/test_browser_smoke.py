"""The browser itself works: the login page renders in Debian's chromium."""

from __future__ import annotations

from tests.e2e.conftest import screenshot


def test_login_page_renders(live, page) -> None:
    page.goto(f"{live.url}/accounts/login/")
    assert page.title() == "Sign in · Orchestra"
    assert page.locator("input[type=email], input[name=login]").count() == 1
    assert screenshot(page, "login").stat().st_size > 1000
