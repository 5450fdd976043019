"""The members page: who may invite, change roles, remove; the last owner stays."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.invitations import invitation_create
from accounts.members import member_set_role
from accounts.models import Invitation, Membership, Role
from accounts.services import token_create
from orchestra.errors import Conflict, PermissionDenied
from tests.dashboard.people_world import text

pytest_plugins = ["tests.people_fixtures"]
pytestmark = pytest.mark.django_db


def membership(org, user) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def test_anonymous_visitors_are_sent_to_login() -> None:
    for url in ("/members/", "/members/leave"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = Client().post("/members/invite", {"email": "x@example.com", "role": "member"})
    assert response.status_code == 302 and not Invitation.objects.exists()


def test_everyone_sees_the_members_only_managers_the_tools(as_owner, as_admin, as_member, as_viewer) -> None:
    for client in (as_owner, as_admin, as_member, as_viewer):
        page = text(client.get("/members/"))
        assert all(email in page for email in ("alice@", "bob@", "carol@", "vera@"))
    for client in (as_owner, as_admin):
        page = text(client.get("/members/"))
        assert "Invite someone" in page and "Pending invitations" in page and "/role" in page
    for client in (as_member, as_viewer):
        page = text(client.get("/members/"))
        assert "Invite someone" not in page and "/role" not in page and "/remove" not in page


def test_owners_can_grant_owner_admins_cannot(as_owner, as_admin) -> None:
    assert '<option value="owner"' in text(as_owner.get("/members/"))
    assert '<option value="owner"' not in text(as_admin.get("/members/"))


def test_another_organization_sees_only_its_own_members(as_outsider) -> None:
    page = text(as_outsider.get("/members/"))
    assert "charlie@" in page and "alice@" not in page and "bob@" not in page


def test_owner_invites_someone(team, as_owner, mailoutbox) -> None:
    response = as_owner.post("/members/invite", {"email": "Dana@Example.com", "role": "admin"})
    assert response.status_code == 302 and response["Location"] == "/members/"
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.organization) == ("dana@example.com", "admin", team)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dana@example.com"]
    assert "dana@example.com" in text(as_owner.get("/members/"))


@pytest.mark.parametrize("client_name", ["as_member", "as_viewer"])
def test_members_and_viewers_cannot_invite(request, client_name, mailoutbox) -> None:
    client = request.getfixturevalue(client_name)
    response = client.post("/members/invite", {"email": "dana@example.com", "role": "member"})
    assert response.status_code == 403
    assert not Invitation.objects.exists() and not mailoutbox


@pytest.mark.parametrize(
    "data, message",
    [
        ({"email": "not an email", "role": "member"}, "Enter a valid email address"),
        ({"email": "dana@example.com", "role": "emperor"}, "Select a valid choice"),
        ({"email": "bob@example.com", "role": "member"}, "already a member"),
    ],
)
def test_bad_invitations_are_refused(as_owner, data, message, mailoutbox) -> None:
    response = as_owner.post("/members/invite", data)
    assert response.status_code == 400 and message in text(response)
    assert not Invitation.objects.exists() and not mailoutbox


def test_admins_cannot_invite_owners(as_admin) -> None:
    response = as_admin.post("/members/invite", {"email": "dana@example.com", "role": "owner"})
    assert response.status_code == 400 and not Invitation.objects.exists()


def test_owner_changes_a_role(team, bob, as_owner) -> None:
    response = as_owner.post(f"/members/{membership(team, bob).pk}/role", {"role": "admin"})
    assert response.status_code == 302
    assert membership(team, bob).role == Role.ADMIN


def test_admins_change_members_but_not_owners(team, alice, bob, as_admin) -> None:
    as_admin.post(f"/members/{membership(team, bob).pk}/role", {"role": "viewer"})
    assert membership(team, bob).role == Role.VIEWER
    as_admin.post(f"/members/{membership(team, bob).pk}/role", {"role": "owner"})
    assert membership(team, bob).role == Role.VIEWER
    response = as_admin.post(f"/members/{membership(team, alice).pk}/role", {"role": "member"}, follow=True)
    assert "only owners" in text(response).lower()
    assert membership(team, alice).role == Role.OWNER


@pytest.mark.parametrize("client_name", ["as_member", "as_viewer"])
def test_members_and_viewers_cannot_change_roles(request, team, bob, carol, client_name) -> None:
    client = request.getfixturevalue(client_name)
    assert client.post(f"/members/{membership(team, carol).pk}/role", {"role": "viewer"}).status_code == 403
    assert client.post(f"/members/{membership(team, bob).pk}/role", {"role": "owner"}).status_code == 403
    assert membership(team, carol).role == Role.ADMIN and membership(team, bob).role == Role.MEMBER


def test_the_last_owner_cannot_be_demoted(team, alice, bob, as_owner) -> None:
    response = as_owner.post(f"/members/{membership(team, alice).pk}/role", {"role": "admin"}, follow=True)
    assert "needs an owner" in text(response)
    assert membership(team, alice).role == Role.OWNER
    # With a second owner, the first may step down.
    as_owner.post(f"/members/{membership(team, bob).pk}/role", {"role": "owner"})
    as_owner.post(f"/members/{membership(team, alice).pk}/role", {"role": "admin"})
    assert membership(team, alice).role == Role.ADMIN and membership(team, bob).role == Role.OWNER


def test_two_owners_cannot_demote_each_other_to_no_owner(team, alice, bob) -> None:
    member_set_role(membership=membership(team, bob), role=Role.OWNER, by=membership(team, alice))
    member_set_role(membership=membership(team, alice), role=Role.ADMIN, by=membership(team, bob))
    with pytest.raises(Conflict):
        member_set_role(membership=membership(team, bob), role=Role.ADMIN, by=membership(team, bob))
    assert Membership.objects.filter(organization=team, role=Role.OWNER).count() == 1


def test_removing_asks_first_then_removes_and_revokes_their_tokens(team, bob, as_owner) -> None:
    token = token_create(organization=team, user=bob, name="bob's").token
    target = membership(team, bob)
    assert "their tokens here are revoked" in text(as_owner.get(f"/members/{target.pk}/remove"))
    assert Membership.objects.filter(pk=target.pk).exists()  # a GET changes nothing
    assert as_owner.post(f"/members/{target.pk}/remove").status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admins_cannot_remove_owners(team, alice, as_admin) -> None:
    as_admin.post(f"/members/{membership(team, alice).pk}/remove")
    assert Membership.objects.filter(organization=team, user=alice).exists()


@pytest.mark.parametrize("client_name", ["as_member", "as_viewer"])
def test_members_and_viewers_cannot_remove(request, team, carol, client_name) -> None:
    client = request.getfixturevalue(client_name)
    target = membership(team, carol)
    assert client.get(f"/members/{target.pk}/remove").status_code == 403
    assert client.post(f"/members/{target.pk}/remove").status_code == 403
    assert Membership.objects.filter(pk=target.pk).exists()


def test_another_organizations_members_answer_404(team, globex, charlie, bob, as_owner, as_outsider) -> None:
    foreign = membership(globex, charlie)
    assert as_owner.post(f"/members/{foreign.pk}/role", {"role": "viewer"}).status_code == 404
    assert as_owner.post(f"/members/{foreign.pk}/remove").status_code == 404
    ours = membership(team, bob)
    assert as_outsider.post(f"/members/{ours.pk}/role", {"role": "viewer"}).status_code == 404
    assert as_outsider.post(f"/members/{ours.pk}/remove").status_code == 404
    assert membership(globex, charlie).role == Role.OWNER and membership(team, bob).role == Role.MEMBER


def test_a_member_leaves(team, bob, as_member) -> None:
    token = token_create(organization=team, user=bob, name="bob's").token
    assert "Leave Acme?" in text(as_member.get("/members/leave"))
    response = as_member.post("/members/leave")
    assert response.status_code == 302
    assert not Membership.objects.filter(organization=team, user=bob).exists()
    token.refresh_from_db()
    assert token.revoked_at is not None
    # No organization left: onboarding.
    assert as_member.get("/")["Location"] == "/onboarding/"


def test_the_last_owner_cannot_leave(team, alice, as_owner) -> None:
    response = as_owner.post("/members/leave", follow=True)
    assert "needs an owner" in text(response)
    assert membership(team, alice).role == Role.OWNER


def test_revoking_an_invitation(team, alice, as_admin, as_member, as_outsider) -> None:
    invitation = invitation_create(organization=team, email="erin@example.com", role="member", invited_by=alice)
    pk = invitation.invitation.pk
    assert as_member.post(f"/members/invitations/{pk}/revoke").status_code == 403
    assert as_outsider.post(f"/members/invitations/{pk}/revoke").status_code == 404
    assert Invitation.objects.get(pk=pk).revoked_at is None
    assert as_admin.post(f"/members/invitations/{pk}/revoke").status_code == 302
    assert Invitation.objects.get(pk=pk).revoked_at is not None
    assert "Revoked the invitation of erin@example.com" in text(as_admin.get("/members/"))
    assert "erin@example.com" not in text(as_admin.get("/members/"))  # no longer pending


def test_services_refuse_non_managers(team, alice, bob) -> None:
    with pytest.raises(PermissionDenied):
        invitation_create(organization=team, email="x@example.com", role="member", invited_by=bob)
    with pytest.raises(PermissionDenied):
        member_set_role(membership=membership(team, alice), role=Role.VIEWER, by=membership(team, bob))
