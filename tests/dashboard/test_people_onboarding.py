"""Onboarding: organization, invitations, first token; skipping and resuming."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from accounts import tokens as token_format
from accounts.invitations import invitation_create
from accounts.models import Invitation, MCPToken, Membership, Organization, Role, User
from dashboard.context import SESSION_KEY
from tests.dashboard.people_world import signed_in, text, verified

pytest_plugins = ["tests.people_fixtures"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(db) -> User:
    return verified(User.objects.create_user("nina@example.com", "pw-nina-123456"))


@pytest.fixture
def as_newcomer(newcomer) -> Client:
    return signed_in(newcomer)


def test_anonymous_visitors_are_sent_to_login() -> None:
    for url in ("/onboarding/", "/onboarding/organization", "/onboarding/invite", "/onboarding/token"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_a_newcomer_starts_by_naming_the_organization(as_newcomer) -> None:
    assert as_newcomer.get("/onboarding/")["Location"] == "/onboarding/organization"
    page = text(as_newcomer.get("/onboarding/organization"))
    assert "Name your organization" in page and 'class="steps"' in page
    # Steps that need an organization send the newcomer back to step one.
    assert as_newcomer.get("/onboarding/token")["Location"] == "/onboarding/"


def test_naming_the_organization_creates_it_and_moves_on(newcomer, as_newcomer) -> None:
    response = as_newcomer.post("/onboarding/organization", {"name": "  Apollo Labs  "})
    assert response.status_code == 302 and response["Location"] == "/onboarding/invite"
    org = Organization.objects.get(is_sandbox=False)
    assert (org.name, org.slug) == ("Apollo Labs", "apollo-labs")
    assert org.sandbox.slug == "apollo-labs-sandbox"
    assert Membership.objects.get(organization=org).role == Role.OWNER
    assert as_newcomer.session[SESSION_KEY] == str(org.pk)


def test_slugs_stay_unique(acme, as_newcomer) -> None:
    as_newcomer.post("/onboarding/organization", {"name": "Acme"})
    assert sorted(Organization.objects.filter(is_sandbox=False).values_list("slug", flat=True)) == ["acme", "acme-2"]


def test_an_empty_name_is_refused(as_newcomer) -> None:
    response = as_newcomer.post("/onboarding/organization", {"name": "   "})
    assert response.status_code == 400 and "Give your organization a name" in text(response)
    assert not Organization.objects.exists()


def test_inviting_several_teammates(newcomer, as_newcomer, mailoutbox) -> None:
    as_newcomer.post("/onboarding/organization", {"name": "Apollo"})
    page = text(as_newcomer.get("/onboarding/invite"))
    assert "Invite your team" in page and "Skip for now" in page
    response = as_newcomer.post(
        "/onboarding/invite", {"emails": "ada@example.com, grace@example.com\n", "role": "admin"}
    )
    assert response.status_code == 302 and response["Location"] == "/onboarding/token"
    assert sorted(Invitation.objects.values_list("email", "role")) == [
        ("ada@example.com", "admin"),
        ("grace@example.com", "admin"),
    ]
    assert sorted(m.to[0] for m in mailoutbox) == ["ada@example.com", "grace@example.com"]


def test_bad_addresses_invite_nobody(as_newcomer, mailoutbox) -> None:
    as_newcomer.post("/onboarding/organization", {"name": "Apollo"})
    response = as_newcomer.post("/onboarding/invite", {"emails": "ada@example.com, not-an-address", "role": "member"})
    assert response.status_code == 400 and "not-an-address" in text(response)
    assert not Invitation.objects.exists() and not mailoutbox


def test_the_first_token_is_shown_once_with_snippets(newcomer, as_newcomer) -> None:
    as_newcomer.post("/onboarding/organization", {"name": "Apollo"})
    page = text(as_newcomer.get("/onboarding/token"))
    assert "Create your first token" in page and 'value="My laptop"' in page
    response = as_newcomer.post("/onboarding/token", {"name": "My laptop", "mode": "live"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = unescape(text(response))
    raw = re.search(r'id="new-token">(orch_live_\w+)<', page).group(1)
    assert MCPToken.objects.get().digest == token_format.digest(raw)
    assert f"Bearer {raw}" in page and '"type": "sse"' in page and "shown only this once" in page


def test_skipping_then_resuming_from_the_dashboard(newcomer, as_newcomer) -> None:
    as_newcomer.post("/onboarding/organization", {"name": "Apollo"})
    assert as_newcomer.post("/onboarding/skip", {"step": "invite"})["Location"] == "/onboarding/token"
    assert as_newcomer.post("/onboarding/skip", {"step": "token"})["Location"] == "/"
    assert sorted(Membership.objects.get(user=newcomer).onboarding_skipped) == ["invite", "token"]
    # Skipping is "not now": the dashboard offers both steps again.
    home = text(as_newcomer.get("/"))
    assert "Finish setting up" in home and "2 steps left" in home
    assert 'href="/onboarding/invite"' in home and 'href="/onboarding/token"' in home
    assert as_newcomer.get("/onboarding/token").status_code == 200
    as_newcomer.post("/onboarding/token", {"name": "later", "mode": "live"})
    home = text(as_newcomer.get("/"))
    assert "1 step left" in home and 'href="/onboarding/token"' not in home


def test_steps_are_read_from_the_data(team, alice, as_owner) -> None:
    # Acme has members already: only the token step remains for alice.
    assert as_owner.get("/onboarding/")["Location"] == "/onboarding/token"
    home = text(as_owner.get("/"))
    assert "Finish setting up" in home and "1 step left" in home
    as_owner.post("/tokens/", {"name": "laptop", "mode": "live"})
    assert "Finish setting up" not in text(as_owner.get("/"))
    assert as_owner.get("/onboarding/")["Location"] == "/"


def test_the_banner_can_be_hidden(team, as_owner) -> None:
    assert "Finish setting up" in text(as_owner.get("/"))
    as_owner.post("/onboarding/skip", {"step": "dismissed"})
    assert "Finish setting up" not in text(as_owner.get("/"))


def test_unknown_steps_cannot_be_skipped(team, alice, as_owner) -> None:
    as_owner.post("/onboarding/skip", {"step": "organization"})
    as_owner.post("/onboarding/skip", {"step": "<script>"})
    assert Membership.objects.get(organization=team, user=alice).onboarding_skipped == []


def test_members_skip_the_invitation_step(team, as_member, as_viewer) -> None:
    assert as_member.get("/onboarding/")["Location"] == "/onboarding/token"
    assert as_member.get("/onboarding/invite").status_code == 403
    assert as_viewer.post("/onboarding/invite", {"emails": "x@example.com", "role": "member"}).status_code == 403
    assert not Invitation.objects.exists()
    page = text(as_member.get("/onboarding/token"))
    assert "Invite your team" not in page


def test_a_second_organization_from_onboarding(team, alice, as_owner) -> None:
    page = text(as_owner.get("/onboarding/organization"))
    assert "You are set up in" in page and "Create another organization" in page
    as_owner.post("/onboarding/organization", {"name": "Side project"})
    assert Membership.objects.filter(user=alice).count() == 2
    assert "<h1>Side project</h1>" in text(as_owner.get("/"))


def test_invitations_for_the_newcomer_are_offered_at_step_one(team, alice, newcomer, as_newcomer) -> None:
    invitation_create(organization=team, email=newcomer.email, role="member", invited_by=alice)
    invitation_create(organization=team, email="someone.else@example.com", role="admin", invited_by=alice)
    page = text(as_newcomer.get("/onboarding/organization"))
    assert "You are invited" in page and "Join Acme" in page
    pk = Invitation.objects.get(email=newcomer.email).pk
    response = as_newcomer.post(f"/invitations/{pk}/accept")
    assert response.status_code == 302 and response["Location"] == "/"
    assert Membership.objects.get(organization=team, user=newcomer).role == Role.MEMBER
    # Someone else's invitation cannot be taken that way.
    other = Invitation.objects.get(email="someone.else@example.com")
    assert as_newcomer.post(f"/invitations/{other.pk}/accept").status_code == 410
    assert Membership.objects.get(organization=team, user=newcomer).role == Role.MEMBER
