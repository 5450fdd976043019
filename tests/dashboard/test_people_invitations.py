"""Invitations: the link, acceptance by a new or an existing account, and every way
an invitation cannot be used (expired, revoked, used, unknown, someone else's)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from accounts.adapters import PENDING_INVITATION
from accounts.invitations import (
    LIFETIME,
    InvitationUnusable,
    MailNotSent,
    digest,
    invitation_accept,
    invitation_create,
)
from accounts.models import Invitation, Membership, Role, User
from dashboard.context import SESSION_KEY
from orchestra.errors import PermissionDenied
from tests.dashboard.people_world import signed_in, text, verified

pytest_plugins = ["tests.people_fixtures"]
pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-7"


def secret_of(mail) -> str:
    return re.search(r"/invitations/([\w-]+)/", mail.body).group(1)


@pytest.fixture
def invited(team, alice, mailoutbox):
    """An invitation of dana@example.com to Acme as admin; (invitation, link path)."""
    issued = invitation_create(organization=team, email="dana@example.com", role="admin", invited_by=alice)
    return issued.invitation, f"/invitations/{secret_of(mailoutbox[-1])}/"


def test_only_the_digest_is_stored_and_the_mail_carries_the_link(team, alice, mailoutbox, settings) -> None:
    issued = invitation_create(organization=team, email=" Dana@Example.COM ", role="member", invited_by=alice)
    invitation = issued.invitation
    mail = mailoutbox[0]
    secret = secret_of(mail)
    assert invitation.email == "dana@example.com" and invitation.digest == digest(secret)
    assert secret not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    assert mail.to == ["dana@example.com"] and mail.subject == "[Orchestra] Alice invited you to Acme"
    assert f"{settings.APP_URL}/invitations/{secret}/" in mail.body and "as member" in mail.body
    assert abs(invitation.expires_at - (timezone.now() + LIFETIME)) < timedelta(seconds=5)
    assert invitation.status == "pending"


def test_inviting_again_replaces_the_open_invitation(team, alice, mailoutbox) -> None:
    first = invitation_create(organization=team, email="dana@example.com", role="member", invited_by=alice)
    second = invitation_create(organization=team, email="dana@example.com", role="admin", invited_by=alice)
    first.invitation.refresh_from_db()
    assert first.invitation.status == "revoked" and second.invitation.status == "pending"
    assert Client().get(f"/invitations/{secret_of(mailoutbox[0])}/").status_code == 410


def test_a_mail_that_cannot_be_sent_leaves_no_invitation(team, alice, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with pytest.raises(MailNotSent, match="could not be sent"):
        invitation_create(organization=team, email="dana@example.com", role="member", invited_by=alice)
    assert not Invitation.objects.exists()
    response = signed_in(alice).post("/members/invite", {"email": "dana@example.com", "role": "member"})
    assert response.status_code == 400 and "could not be sent" in text(response)
    assert not Invitation.objects.exists()


def test_following_the_link_remembers_the_invitation_not_the_secret(invited) -> None:
    invitation, link = invited
    client = Client()
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == "/invitations/accept/"
    assert client.session[PENDING_INVITATION] == str(invitation.pk)
    assert link.split("/")[2] not in str(dict(client.session))
    page = text(client.get("/invitations/accept/"))
    assert "Join Acme" in page and "dana@example.com" in page and "admin" in page
    assert "/accounts/signup/?email=dana%40example.com" in page


def test_a_new_account_signs_up_verifies_and_joins(team, invited, mailoutbox) -> None:
    invitation, link = invited
    client = Client()
    client.get(link)
    signup = client.post(
        "/accounts/signup/", {"email": "dana@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert signup.status_code == 302 and signup["Location"] == "/accounts/confirm-email/"
    assert not Membership.objects.filter(user__email="dana@example.com").exists()  # not before verifying
    confirm = unescape(re.search(r"http://\S+/accounts/confirm-email/\S+", mailoutbox[-1].body).group(0))
    landed = client.post(confirm.split("testserver", 1)[1])
    assert landed.status_code == 302 and landed["Location"] == "/invitations/accept/"
    assert "Join Acme?" in text(client.get("/invitations/accept/"))
    joined = client.post("/invitations/accept/", {"decision": "accept"})
    assert joined.status_code == 302 and joined["Location"] == "/"
    dana = User.objects.get(email="dana@example.com")
    assert Membership.objects.get(organization=team, user=dana).role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.status == "accepted" and invitation.accepted_by == dana
    assert client.session[SESSION_KEY] == str(team.pk) and PENDING_INVITATION not in client.session
    assert "Welcome to Acme" in text(client.get("/"))


def test_an_existing_account_logs_in_and_joins(team, globex, invited) -> None:
    _invitation, link = invited
    dana = verified(User.objects.create_user("dana@example.com", PASSWORD))
    client = Client()
    client.get(link)
    assert "I have an account" in text(client.get("/invitations/accept/"))
    login = client.post("/accounts/login/", {"login": "dana@example.com", "password": PASSWORD})
    assert login.status_code == 302 and login["Location"] == "/invitations/accept/"
    client.post("/invitations/accept/", {"decision": "accept"})
    assert Membership.objects.get(organization=team, user=dana).role == Role.ADMIN


def test_declining_changes_nothing(invited) -> None:
    invitation, link = invited
    dana = verified(User.objects.create_user("dana@example.com", PASSWORD))
    client = signed_in(dana)
    client.get(link)
    response = client.post("/invitations/accept/", {"decision": "decline"})
    assert response.status_code == 302 and PENDING_INVITATION not in client.session
    invitation.refresh_from_db()
    assert invitation.status == "pending" and not Membership.objects.filter(user=dana).exists()


def test_signed_in_as_someone_else_is_refused_clearly(invited, charlie, globex) -> None:
    invitation, link = invited
    client = signed_in(charlie)
    client.get(link)
    page = client.get("/invitations/accept/")
    assert page.status_code == 403
    assert "for someone else" in text(page) and "dana@example.com" in text(page) and "charlie@example.com" in text(page)
    assert client.post("/invitations/accept/", {"decision": "accept"}).status_code == 403
    assert not Membership.objects.filter(organization=invitation.organization, user=charlie).exists()
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    with pytest.raises(PermissionDenied, match=r"this invitation is for dana@example\.com"):
        invitation_accept(invitation=invitation, user=charlie)


def test_an_unverified_second_address_does_not_count(invited, charlie, globex) -> None:
    invitation, _ = invited
    EmailAddress.objects.create(user=charlie, email="dana@example.com", verified=False, primary=False)
    with pytest.raises(PermissionDenied, match="this invitation is for"):
        invitation_accept(invitation=invitation, user=charlie)
    EmailAddress.objects.filter(user=charlie).update(verified=True)
    assert invitation_accept(invitation=invitation, user=charlie).role == Role.ADMIN


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda inv: Invitation.objects.filter(pk=inv.pk).update(expires_at=timezone.now()), "has expired"),
        (lambda inv: Invitation.objects.filter(pk=inv.pk).update(revoked_at=timezone.now()), "withdrawn"),
        (lambda inv: Invitation.objects.filter(pk=inv.pk).update(accepted_at=timezone.now()), "already used"),
    ],
    ids=["expired", "revoked", "used"],
)
def test_unusable_links_say_why_and_change_nothing(invited, spoil, message) -> None:
    invitation, link = invited
    dana = verified(User.objects.create_user("dana@example.com", PASSWORD))
    client = signed_in(dana)
    # Spoiled after the link was followed (in two browsers: one looks, one accepts)...
    other = signed_in(dana)
    client.get(link)
    other.get(link)
    spoil(invitation)
    for response in (client.get("/invitations/accept/"), other.post("/invitations/accept/", {"decision": "accept"})):
        assert response.status_code == 410 and message in text(response) and "Nothing was changed" in text(response)
    assert PENDING_INVITATION not in client.session and PENDING_INVITATION not in other.session
    # ...and before.
    fresh = signed_in(dana)
    response = fresh.get(link)
    assert response.status_code == 410 and message in text(response)
    assert PENDING_INVITATION not in fresh.session
    assert not Membership.objects.filter(user=dana).exists()
    with pytest.raises(InvitationUnusable):
        invitation_accept(invitation=invitation, user=dana)


def test_unknown_links_are_refused(db) -> None:
    for secret in ("nope", "x" * 43, "x" * 300):
        response = Client().get(f"/invitations/{secret}/")
        assert response.status_code == 410 and "not valid" in text(response)


def test_accept_without_a_followed_link_goes_home(team, as_owner) -> None:
    response = as_owner.get("/invitations/accept/")
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_existing_member_keeps_their_role(team, alice, carol, mailoutbox) -> None:
    invitation = Invitation.objects.create(
        organization=team,
        email="carol@example.com",
        role="viewer",
        digest="0" * 64,
        expires_at=timezone.now() + LIFETIME,
    )
    membership = invitation_accept(invitation=invitation, user=carol)
    assert membership.role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.status == "accepted"


def test_suspended_organizations_take_nobody(team, invited) -> None:
    invitation, _link = invited
    team.suspended_at = timezone.now()
    team.save()
    dana = verified(User.objects.create_user("dana@example.com", PASSWORD))
    with pytest.raises(InvitationUnusable):
        invitation_accept(invitation=invitation, user=dana)
    assert not Membership.objects.filter(user=dana).exists()
