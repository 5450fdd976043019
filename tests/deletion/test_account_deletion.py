"""Deleting one's account: refused for the last owner of a team (saying what to do);
otherwise memberships, tokens and grants go, and what they wrote stays, by "deleted user"."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.deletion import account_delete
from accounts.models import MCPToken, Membership, Organization, Role, User
from accounts.services import membership_set, organization_create
from audit.actions import Action
from audit.models import AuditEvent, DeletedOrganization
from orchestra.errors import Conflict
from tests.conftest import ok
from tests.dashboard.people_world import signed_in
from tools.notes.models import Note


def test_the_last_owner_of_a_team_is_refused_and_told_what_to_do(alice: User, acme: Organization) -> None:
    with pytest.raises(Conflict) as refused:
        account_delete(user=alice)
    assert "last owner of Acme" in refused.value.message
    assert "make another member owner" in refused.value.message and "delete the organization" in refused.value.message
    client = signed_in(alice)
    page = client.get("/account/delete").content.decode()
    assert "make another member owner" in page and "Delete my account</button>" not in page
    response = client.post("/account/delete", {"confirm": "delete"}, follow=True)
    assert "last owner of Acme" in response.content.decode()
    assert User.objects.filter(pk=alice.pk).exists() and Membership.objects.filter(user=alice).count() == 1


def test_deleting_an_account_keeps_what_they_wrote(
    alice: User, bob: User, acme: Organization, alice_id: Any, call: Any, issue_token
) -> None:
    membership_set(organization=acme, user=bob, role=Role.OWNER)
    note = ok(call(alice_id, "create_note", title="Kept", content="written by alice"))
    issue_token(alice, acme, mode="test")
    client = signed_in(alice)
    assert client.post("/account/delete", {}).status_code == 302  # unconfirmed: nothing happens
    assert User.objects.filter(pk=alice.pk).exists()
    response = client.post("/account/delete", {"confirm": "delete"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=alice.pk).exists()
    assert not Membership.objects.filter(user_id=alice.pk).exists()
    assert not MCPToken.objects.filter(user_id=alice.pk).exists()
    kept = Note.unscoped.get(pk=note["id"])
    assert kept.author_id is None and kept.content == "written by alice"
    assert "by deleted user" in signed_in(bob).get(f"/notes/{note['id']}/").content.decode()
    assert "deleted user" in signed_in(bob).get("/activity/").content.decode()  # who created the note
    event = AuditEvent.unscoped.get(organization=acme, action=Action.ACCOUNT_DELETED)
    assert (event.actor_id, event.actor_label, event.details["tokens_revoked"]) == (None, "alice@example.com", 2)
    # Their session ended with the account.
    assert client.get("/account/").status_code == 302


def test_an_organization_they_were_alone_in_goes_with_them(charlie: User, globex: Organization) -> None:
    solo = organization_create(name="Solo", owner=charlie)
    plan = account_delete(user=charlie)
    assert {org.pk for org in plan.deleted} == {globex.pk, solo.pk}
    assert set(DeletedOrganization.objects.values_list("pk", flat=True)) == {globex.pk, solo.pk}
    assert not User.objects.filter(pk=charlie.pk).exists()


def test_operators_delete_accounts_from_the_admin(alice: User, acme: Organization, globex: Organization) -> None:
    charlie = User.objects.get(email="charlie@example.com")
    operator = Client()
    operator.force_login(User.objects.create_superuser("ops@example.com", "pw-ops-123456"))
    response = operator.post(
        "/admin/accounts/user/",
        {"action": "delete_account", "_selected_action": [str(alice.pk), str(charlie.pk)]},
        follow=True,
    )
    assert "last owner of Acme" in response.content.decode()
    assert User.objects.filter(pk=alice.pk).exists() and not User.objects.filter(pk=charlie.pk).exists()
    assert DeletedOrganization.objects.get().deleted_by == "operator ops@example.com"
