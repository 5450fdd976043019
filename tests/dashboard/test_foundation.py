"""The web foundation: sign-up alias, the organization a request acts in, switching."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import organization_create
from dashboard.context import SESSION_KEY

pytestmark = pytest.mark.django_db


def test_register_is_the_signup_page() -> None:
    response = Client().get("/register?next=/x")
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/?next=/x"
    assert Client().get("/accounts/signup/").status_code == 200


def test_anonymous_visitors_are_sent_to_login() -> None:
    # "/" is the landing page for them (tests/dashboard/test_find_and_see.py).
    response = Client().get("/projects/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_user_without_organization_is_sent_to_onboarding(charlie) -> None:
    client = Client()
    client.force_login(charlie)
    charlie.memberships.all().delete()
    assert client.get("/")["Location"] == "/onboarding/"


def test_switching_between_organizations(alice, acme) -> None:
    other = organization_create(name="Initech", owner=alice)
    client = Client()
    client.force_login(alice)
    page = client.get("/")
    assert page.status_code == 200 and "Acme" in page.content.decode() and "Initech" in page.content.decode()
    client.post("/organizations/switch", {"organization": str(other.pk), "next": "/"})
    assert client.session[SESSION_KEY] == str(other.pk)
    assert "<h1>Initech</h1>" in client.get("/").content.decode()


def test_switching_to_a_foreign_organization_is_refused(alice, acme, globex) -> None:
    client = Client()
    client.force_login(alice)
    assert client.post("/organizations/switch", {"organization": str(globex.pk)}).status_code == 403
    assert client.post("/organizations/switch", {"organization": "not-a-uuid"}).status_code == 403
