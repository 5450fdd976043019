"""Every page carries a Content-Security-Policy, and every page obeys it: scripts and
styles come from our origin or carry the response's nonce; no inline event handler and
no style attribute (which a nonce cannot allow) is left in any template."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import User
from accounts.services import organization_create
from tests.dashboard.dashboard_world import build
from tests.dashboard.test_dashboard_pages import detail_pages, list_pages

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1) style="x">'
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_obeys_its_policy(path: str, response: Any) -> str:
    """The page's nonce, once every element of the page is checked against its policy."""
    assert response.status_code == 200, (path, response.status_code)
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{path} has no Content-Security-Policy"
    policy = directives(header)
    (nonce_source,) = [s for s in policy["script-src"] if s.startswith("'nonce-")]
    nonce = nonce_source[len("'nonce-") : -1]
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert {"ws://testserver", "wss://testserver"} <= set(policy["connect-src"]), "the live feed's WebSocket"
    parser = Tags()
    parser.feed(response.content.decode())
    for tag, attrs in parser.tags:
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"{path}: <{tag} {handlers[0]}=…> is an inline event handler"
        assert "style" not in attrs, f"{path}: <{tag} style=…> is refused by style-src"
        inline_script = tag == "script" and "src" not in attrs and attrs.get("type") not in DATA_SCRIPT_TYPES
        if inline_script or tag == "style":
            assert attrs.get("nonce") == nonce, f"{path}: an inline <{tag}> without the nonce"
        if tag == "script" and attrs.get("src"):
            assert str(attrs["src"]).startswith("/"), f"{path}: a script from elsewhere: {attrs['src']}"
    return nonce


@pytest.fixture
def signed_in_alice(alice: User, acme: Any, alice_id: Any) -> Client:
    organization_create(name="Second", owner=alice)  # two organizations: the switcher shows
    build(alice_id, hostile=HOSTILE)
    client = Client()
    client.force_login(alice)
    return client


def test_dashboard_and_people_pages_obey_their_policy(signed_in_alice: Client, alice_id: Any) -> None:
    world = build(alice_id, "Zephyr")
    pages = [
        *list_pages(world),
        *detail_pages(world),
        "/members/",
        "/members/leave",
        "/tokens/",
        "/connect/",
        "/onboarding/token",
        "/accounts/password/change/",
        "/audit/",
        "/organization/delete",
        "/account/",
        "/account/delete",
    ]
    nonces = {assert_obeys_its_policy(path, signed_in_alice.get(path)) for path in pages}
    assert len(nonces) == len(pages), "each response has its own nonce"
    # The switcher, the copy buttons and the live feed are still there, as nonce'd scripts.
    home = signed_in_alice.get("/").content.decode()
    assert 'id="org-switch"' in home and 'id="live-status"' in home
    created = signed_in_alice.post("/tokens/", {"name": "laptop", "mode": "live", "access": "write"}, follow=True)
    assert_obeys_its_policy("/tokens/ (created)", created)
    assert "data-copy" in created.content.decode()


def test_account_pages_obey_their_policy(signed_in_alice: Client, alice: User) -> None:
    # A pending change of address: the e-mail page then holds allauth's hidden form.
    EmailAddress.objects.create(user=alice, email="alice.new@example.com", verified=False, primary=False)
    assert_obeys_its_policy("/accounts/email/", signed_in_alice.get("/accounts/email/"))
    anonymous = Client()
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/admin/login/"):
        assert_obeys_its_policy(path, anonymous.get(path))


def test_the_feature_progress_is_drawn_without_a_style_attribute(signed_in_alice: Client) -> None:
    listed = signed_in_alice.get("/features/").content.decode()
    assert re.search(r'<progress[^>]* max="3" value="1"', listed), "1 of 3 gates passed"
