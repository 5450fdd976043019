"""What people see of plan limits in the dashboard: usage meters on the overview, the
token and invitation forms saying the limit in words (nothing created, no 500), an
invitation that finds no seat, and a downgraded organization shown what is over."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from accounts.invitations import invitation_create
from accounts.models import Invitation, MCPToken, Organization, Role, User
from accounts.services import organization_create, token_create
from billing.services import plan_grant
from tests.dashboard.people_world import signed_in, text, verified


@pytest.fixture
def owner(db: Any) -> User:
    return verified(User.objects.create_user("owner@small.test", "pw-owner-123456", name="Owner"))


@pytest.fixture
def small(settings: Any, owner: User) -> Organization:
    settings.STRIPE_SECRET_KEY, settings.STRIPE_KEY = "sk_test_dash", "pk_test_dash"
    return organization_create(name="Small", owner=owner)


def meter_row(page: str, label: str) -> str:
    match = re.search(rf'<tr class="meter[^"]*" data-label="{re.escape(label)}">.*?</tr>', page, re.S)
    assert match, f"no meter {label!r}"
    return match.group(0)


def test_the_overview_shows_usage_meters(owner: User, small: Organization) -> None:
    token_create(organization=small, user=owner, name="one")
    page = text(signed_in(owner).get(reverse("web:home")))
    assert "Free plan" in page
    assert "1 / 2" in meter_row(page, "Tokens") and "warning" not in meter_row(page, "Tokens")
    assert "1 / 1" in meter_row(page, "Members (with pending invitations)")
    assert 'class="meter warning"' in meter_row(page, "Members (with pending invitations)")
    assert "0.0 MB / 50 MB" in meter_row(page, "Memory")
    assert "over its plan" not in page


def test_the_token_form_says_the_limit_in_words(owner: User, small: Organization) -> None:
    client = signed_in(owner)
    for name in ("one", "two"):
        token_create(organization=small, user=owner, name=name)
    response = client.post(reverse("web:tokens"), {"name": "three", "mode": "live"})
    assert response.status_code == 400
    assert "the Free plan allows 2 tokens; this organization uses 2" in text(response)
    assert MCPToken.objects.filter(organization=small).count() == 2


def test_the_invitation_form_says_the_limit_in_words(owner: User, small: Organization) -> None:
    response = signed_in(owner).post(reverse("web:invite"), {"email": "friend@small.test", "role": Role.MEMBER})
    assert response.status_code == 400
    assert "the Free plan allows 1 member (pending invitations included); this organization uses 1" in text(response)
    assert not Invitation.objects.exists()


def test_an_invitation_without_a_seat_says_so_and_stays_pending(owner: User, small: Organization) -> None:
    plan_grant(organization=small, plan="pro")
    issued = invitation_create(organization=small, email="late@small.test", role=Role.MEMBER, invited_by=owner)
    plan_grant(organization=small, plan="")  # downgraded: two seats held, one allowed
    guest = verified(User.objects.create_user("late@small.test", "pw-late-123456"))
    client = signed_in(guest)
    client.get(issued.url)
    response = client.post(reverse("web:invitation-accept"))
    assert response.status_code == 402
    assert "No seat left in Small" in text(response) and "Free plan allows 1 member " in text(response)
    issued.invitation.refresh_from_db()
    assert issued.invitation.status == "pending"
    # The owner's overview says what is over; nothing was deleted or hidden.
    page = text(signed_in(owner).get(reverse("web:home")))
    assert "over its plan" in page
    assert 'class="meter over"' in meter_row(page, "Members (with pending invitations)")
    assert "late@small.test" in text(signed_in(owner).get(reverse("web:members")))
