"""Every people page, for every kind of visitor: what each one gets."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.dashboard.people_world import text

pytest_plugins = ["tests.people_fixtures"]
pytestmark = pytest.mark.django_db

PAGES = ["/tokens/", "/members/", "/connect/", "/members/leave", "/onboarding/organization", "/onboarding/token"]
VISITORS = ["as_owner", "as_admin", "as_member", "as_viewer", "as_outsider"]

# What a GET answers; everything else is 200.
EXPECTED = {
    ("as_member", "/onboarding/invite"): 403,
    ("as_viewer", "/onboarding/invite"): 403,
}


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("path", [*PAGES, "/onboarding/invite"])
def test_page_answers_by_role(request, visitor, path) -> None:
    client = request.getfixturevalue(visitor)
    response = client.get(path)
    assert response.status_code == EXPECTED.get((visitor, path), 200), (visitor, path)
    if response.status_code == 200:
        page = text(response)
        assert 'href="/tokens/"' in page or path.startswith("/onboarding/"), (visitor, path)


@pytest.mark.parametrize("path", [*PAGES, "/onboarding/invite", "/onboarding/", "/invitations/accept/"])
def test_anonymous_visitors_log_in_first(db, path) -> None:
    response = Client().get(path)
    if path == "/invitations/accept/":
        assert response.status_code == 302 and response["Location"] == "/"
    else:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="), path


@pytest.mark.parametrize("visitor", VISITORS)
def test_the_pages_name_the_visitors_own_organization(request, team, globex, visitor) -> None:
    client = request.getfixturevalue(visitor)
    expected, other = ("Globex", "Acme") if visitor == "as_outsider" else ("Acme", "Globex")
    for path in ("/tokens/", "/members/"):
        page = text(client.get(path))
        assert expected in page and other not in page, (visitor, path)


def test_the_nav_links_the_people_pages(as_member) -> None:
    page = text(as_member.get("/connect/"))
    for path, label in (("/tokens/", "Tokens"), ("/members/", "Members"), ("/connect/", "Connect")):
        assert f'href="{path}"' in page and f">{label}</a>" in page
    assert '<a href="/connect/" aria-current="page">Connect</a>' in page


def test_agent_written_text_is_escaped(team, alice, as_owner) -> None:
    from accounts.services import token_create

    token_create(organization=team, user=alice, name="<script>alert(1)</script>")
    page = text(as_owner.get("/tokens/"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
