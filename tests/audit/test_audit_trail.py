"""Every administrative act writes exactly one audit row, in the transaction of the
change: a change rolled back leaves none. Who, what, on what, and from which address."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.invitations import MailNotSent, invitation_accept, invitation_create, invitation_revoke
from accounts.members import member_leave, member_remove, member_set_role
from accounts.models import Invitation, MCPToken, Membership, Organization, Role, TokenKind, User
from accounts.services import membership_set, token_create, token_revoke
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import AuditOutsideTransaction, bounded_details, expired_events_purge, record
from audit.tasks import purge_expired_events
from billing.services import subscription_apply
from githubint.services import (
    connection_disconnect,
    connection_link_installation,
    connection_set_status,
    connection_store_token,
)
from orchestra.actor import Actor
from tests.dashboard.people_world import verified

# Django's test client comes from this address.
TEST_CLIENT_ADDRESS = "127.0.0.1"


def events(org: Organization) -> list[AuditEvent]:
    return list(AuditEvent.unscoped.filter(organization=org).order_by("created_at", "id"))


def only_new(org: Organization, act: Callable[[], Any]) -> AuditEvent:
    """Run `act`; exactly one audit row appeared in `org`'s trail: that row."""
    before = {event.pk for event in events(org)}
    act()
    new = [event for event in events(org) if event.pk not in before]
    assert len(new) == 1, [(e.action, e.target) for e in new]
    return new[0]


@pytest.fixture
def carol(db: Any) -> User:
    return verified(User.objects.create_user("carol@example.com", "pw-carol-123456"))


def test_invitations_sent_withdrawn_and_accepted(alice: User, acme: Organization, carol: User) -> None:
    sent = only_new(
        acme, lambda: invitation_create(organization=acme, email="carol@example.com", role="admin", invited_by=alice)
    )
    assert (sent.action, sent.actor_id, sent.actor_label, sent.target) == (
        Action.INVITATION_SENT,
        alice.pk,
        "alice@example.com",
        "carol@example.com",
    )
    assert sent.details["role"] == "admin"
    invitation = Invitation.objects.get(email="carol@example.com")
    withdrawn = only_new(acme, lambda: invitation_revoke(invitation=invitation, by=alice))
    assert withdrawn.action == Action.INVITATION_WITHDRAWN
    # Withdrawing it again changes nothing and writes nothing.
    before = len(events(acme))
    invitation_revoke(invitation=invitation, by=alice)
    assert len(events(acme)) == before
    invitation_create(organization=acme, email="carol@example.com", role="member", invited_by=alice)
    again = Invitation.objects.get(email="carol@example.com", revoked_at__isnull=True)
    accepted = only_new(acme, lambda: invitation_accept(invitation=again, user=carol))
    assert (accepted.action, accepted.actor_id) == (Action.INVITATION_ACCEPTED, carol.pk)
    assert accepted.details["joined"] is True


def test_roles_changed_members_removed_and_left(alice: User, bob: User, charlie: User, acme: Organization) -> None:
    by = Membership.objects.get(organization=acme, user=alice)
    bobs = Membership.objects.get(organization=acme, user=bob)
    changed = only_new(acme, lambda: member_set_role(membership=bobs, role=Role.ADMIN, by=by))
    assert (changed.action, changed.target, changed.details) == (
        Action.ROLE_CHANGED,
        "bob@example.com",
        {"from": "member", "to": "admin"},
    )
    removed = only_new(acme, lambda: member_remove(membership=bobs, by=by))
    assert (removed.action, removed.actor_id, removed.target) == (Action.MEMBER_REMOVED, alice.pk, "bob@example.com")
    membership_set(organization=acme, user=charlie, role=Role.VIEWER)
    charlies = Membership.objects.get(organization=acme, user=charlie)
    left = only_new(acme, lambda: member_leave(membership=charlies))
    assert (left.action, left.actor_id) == (Action.MEMBER_LEFT, charlie.pk)


def test_tokens_and_grants_created_and_revoked(alice: User, acme: Organization) -> None:
    created = only_new(acme, lambda: token_create(organization=acme, user=alice, name="laptop", mode="test"))
    token = MCPToken.objects.get(name="laptop")
    assert created.action == Action.TOKEN_CREATED and created.target.startswith("laptop (orch_test_…")
    revoked = only_new(acme, lambda: token_revoke(token=token, by=alice))
    assert (revoked.action, revoked.actor_id) == (Action.TOKEN_REVOKED, alice.pk)
    grant = only_new(
        acme,
        lambda: token_create(
            organization=acme, user=alice, name="Claude", kind=TokenKind.OAUTH, oauth_client_id="https://c.example/m"
        ),
    )
    assert grant.action == Action.GRANT_CREATED and grant.details["client"] == "https://c.example/m"
    oauth = MCPToken.objects.get(name="Claude")
    by_client = only_new(acme, lambda: token_revoke(token=oauth, by_label="OAuth client signed out (RFC 7009)"))
    assert (by_client.action, by_client.actor_id, by_client.actor_label) == (
        Action.GRANT_REVOKED,
        None,
        "OAuth client signed out (RFC 7009)",
    )


def test_plans_and_subscriptions(acme: Organization) -> None:
    granted = only_new(acme, lambda: call_command("setplan", org=acme.slug, plan="team", stdout=_Null()))
    assert (granted.action, granted.actor_label, granted.details["to"]) == (
        Action.PLAN_GRANTED,
        "operator (manage.py setplan)",
        "team",
    )

    def apply() -> Any:
        return subscription_apply(
            organization=acme, subscription_id="sub_1", plan="pro", status="active", period_end=None
        )

    changed = only_new(acme, apply)
    assert (changed.action, changed.actor_label, changed.details["plan"]) == (
        Action.SUBSCRIPTION_CHANGED,
        "Stripe",
        "pro",
    )
    # Stripe telling the same state again (a replayed event) is no change.
    before = len(events(acme))
    apply()
    assert len(events(acme)) == before


def test_github_connected_and_disconnected(alice: User, acme: Organization) -> None:
    actor = Actor(user_id=alice.pk, tool="dashboard")
    connected = only_new(
        acme,
        lambda: connection_store_token(
            actor=actor, organization=acme, token="github_pat_0123456789abcdef", account_login="octo"
        ),
    )
    assert (connected.action, connected.actor_label, connected.target) == (
        Action.GITHUB_CONNECTED,
        "alice@example.com",
        "octo",
    )
    assert "github_pat_0123456789abcdef" not in str(connected.details)
    gone = only_new(acme, lambda: connection_disconnect(actor=actor, organization=acme))
    assert gone.action == Action.GITHUB_DISCONNECTED
    installed = only_new(
        acme,
        lambda: connection_link_installation(
            actor=actor, organization=acme, installation_id=77, account_login="acme-gh", account_type="Organization"
        ),
    )
    assert installed.details == {"kind": "app", "installation_id": 77}
    # Uninstalled on GitHub's side (its webhook): a disconnection too, recorded once.
    uninstalled = only_new(acme, lambda: connection_set_status(installation_id=77, status="deleted"))
    assert (uninstalled.action, uninstalled.actor_id) == (Action.GITHUB_DISCONNECTED, None)
    assert uninstalled.actor_label.startswith("GitHub")
    before = len(events(acme))
    connection_set_status(installation_id=77, status="deleted")
    assert len(events(acme)) == before


def test_signing_in_is_recorded_once_in_each_organization(alice: User, acme: Organization, globex, charlie) -> None:
    membership_set(organization=globex, user=alice, role=Role.MEMBER)
    verified(alice)
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="6.6.6.6")
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": "pw-alice-123456"})
    assert response.status_code == 302
    for org in (acme, globex):
        signed_in = [e for e in events(org) if e.action == Action.SIGNED_IN]
        assert len(signed_in) == 1
        # The address the server believes (REMOTE_ADDR), never a forged X-Forwarded-For.
        assert (signed_in[0].actor_id, signed_in[0].ip_address) == (alice.pk, "198.51.100.7")


def test_the_request_address_is_recorded(alice: User, acme: Organization) -> None:
    token = MCPToken.objects.create(
        organization=acme, user=alice, name="t", prefix="orch_live_", digest="d" * 64, last_four="abcd"
    )
    client = Client(REMOTE_ADDR="2001:db8::5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    client.force_login(alice)
    response = client.post(f"/tokens/{token.pk}/revoke")
    assert response.status_code == 302
    event = AuditEvent.unscoped.get(action=Action.TOKEN_REVOKED)
    assert event.ip_address == "2001:db8::5"


def test_a_rolled_back_change_leaves_no_audit_row(alice: User, acme: Organization, settings) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        token_create(organization=acme, user=alice, name="doomed")
        raise Boom
    assert not MCPToken.objects.filter(name="doomed").exists()
    assert not AuditEvent.unscoped.filter(organization=acme).exists()
    # A mail that cannot be sent leaves neither the invitation nor its audit row.
    settings.EMAIL_BACKEND = "tests.audit.test_audit_trail.RefusingBackend"
    with pytest.raises(MailNotSent):
        invitation_create(organization=acme, email="dana@example.com", role="member", invited_by=alice)
    assert not Invitation.objects.filter(email="dana@example.com").exists()
    assert not AuditEvent.unscoped.filter(organization=acme).exists()


class RefusingBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise smtplib.SMTPException("refused")


@pytest.mark.django_db(transaction=True)
def test_record_refuses_to_run_outside_a_transaction(acme: Organization) -> None:
    with pytest.raises(AuditOutsideTransaction):
        record(organization=acme, action=Action.DATA_EXPORTED, actor_label="export")
    assert not AuditEvent.unscoped.exists()


def test_details_are_bounded() -> None:
    details = bounded_details({f"k{i}": "x" * 10_000 for i in range(50)} | {"nested": {"a": [1] * 100}})
    assert len(details) == 20 and all(len(value) == 500 for value in details.values())
    assert bounded_details({"list": list(range(100)), "deep": [[1, 2]]}) == {
        "list": list(range(20)),
        "deep": ["[1, 2]"],
    }


def test_a_sandbox_event_belongs_to_its_live_organization(acme: Organization) -> None:
    with transaction.atomic():
        event = record(organization=acme.sandbox, action=Action.DATA_IMPORTED, actor_label="import")
    assert event.organization_id == acme.pk


def test_retention_purges_old_rows_only(acme: Organization, settings) -> None:
    with transaction.atomic():
        old = record(organization=acme, action=Action.DATA_EXPORTED, actor_label="x")
        new = record(organization=acme, action=Action.DATA_EXPORTED, actor_label="y")
    AuditEvent.unscoped.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    settings.AUDIT_RETENTION_DAYS = 0  # kept for ever
    assert expired_events_purge() == 0
    settings.AUDIT_RETENTION_DAYS = 30
    assert purge_expired_events() == 1  # the beat's daily task
    assert list(AuditEvent.unscoped.values_list("pk", flat=True)) == [new.pk]


class _Null:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def test_a_checkout_started_is_recorded(alice: User, acme: Organization, stripe_on: Any, stripe_catalog: Any) -> None:
    from billing.stripe_billing import checkout_start

    started = only_new(
        acme,
        lambda: checkout_start(
            organization=acme, plan="pro", success_url="http://t/s", cancel_url="http://t/c", by=alice
        ),
    )
    assert (started.action, started.actor_id, started.target) == (Action.CHECKOUT_STARTED, alice.pk, "pro")
