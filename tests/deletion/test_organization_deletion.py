"""Deleting an organization: owners only, typing its name; unusable at once (tokens,
grants, the dashboard), recorded outside it; then every row of it and of its sandbox
removed in the background (Stripe cancelled, GitHub App uninstalled), others intact."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from accounts.auth import AuthenticationFailed, authenticate_token
from accounts.deletion import organization_delete, organization_models, organization_purge
from accounts.models import Invitation, MCPToken, Organization, Role, TokenKind, User
from accounts.services import membership_set, token_create
from audit.actions import Action
from audit.models import AuditEvent, DeletedOrganization
from billing.models import OrganizationBilling
from billing.stripe_billing import customer_for, subscription_sync
from dashboard.context import memberships_of
from githubint.models import GitHubConnection
from orchestra.errors import InvalidArguments, PermissionDenied
from tests.dashboard.people_world import signed_in
from tests.tools.world import build_world, in_process_caller


def organization_keys() -> list[tuple[type[models.Model], str]]:
    """Every model with a foreign key to Organization, found here independently of
    accounts.deletion (a model it forgot would show up)."""
    found = []
    for model in apps.get_models():
        if model is Organization:  # the sandbox's link: the organizations go last, themselves
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Organization:
                found.append((model, field.attname))
    return found


def rows_of(org_ids: list[Any]) -> dict[str, int]:
    counts = {}
    for model, key in organization_keys():
        count = model._base_manager.filter(**{f"{key}__in": org_ids}).count()
        if count:
            counts[f"{model._meta.label}.{key}"] = count
    return counts


def rest_call(token: str) -> int:
    response = Client().post(
        "/api/v1/tools/get_context", data="{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    return response.status_code


def test_only_owners_may_delete(alice: User, bob: User, acme: Organization) -> None:
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        membership_set(organization=acme, user=bob, role=role)
        client = signed_in(bob)
        assert client.get("/organization/delete").status_code == 403
        assert client.post("/organization/delete", {"name": "Acme"}).status_code == 403
        with pytest.raises(PermissionDenied):
            organization_delete(organization=acme, by=bob)
    assert not DeletedOrganization.objects.exists()
    assert Organization.objects.get(pk=acme.pk).suspended_at is None


def test_the_name_must_be_typed(alice: User, acme: Organization, alice_token: str) -> None:
    response = signed_in(alice).post("/organization/delete", {"name": "acme "})
    assert response.status_code == 400 and "not this organization" in response.content.decode()
    assert not DeletedOrganization.objects.exists() and rest_call(alice_token) == 200


def test_deleting_ends_every_access_at_once(alice: User, bob: User, acme: Organization, issue_token) -> None:
    live = issue_token(alice, acme)
    test = issue_token(bob, acme, mode="test")
    grant = token_create(
        organization=acme, user=alice, name="Claude", kind=TokenKind.OAUTH, oauth_client_id="https://c.example/m"
    )
    Invitation.objects.create(organization=acme, email="dana@example.com", digest="x" * 64, expires_at=acme.created_at)
    assert rest_call(live) == 200 and rest_call(test) == 200
    client = signed_in(alice)
    response = client.post("/organization/delete", {"name": "Acme", "reason": "moving on"})
    assert response.status_code == 302
    for token in (live, test):
        assert rest_call(token) == 401
        with pytest.raises(AuthenticationFailed):
            authenticate_token(token)
    assert not MCPToken.objects.filter(organization=acme, revoked_at__isnull=True).exists()
    assert MCPToken.objects.get(pk=grant.token.pk).revoked_at is not None
    assert not Invitation.objects.filter(organization=acme, revoked_at__isnull=True).exists()
    # Nobody can open it: it is gone from everyone's dashboard, sandbox and all.
    assert memberships_of(alice) == [] and memberships_of(bob) == []
    assert client.get("/audit/").status_code == 302  # to onboarding: no organization left
    assert all(org.suspended_at is not None for org in Organization.objects.filter(pk__in=[acme.pk, acme.sandbox.pk]))
    record = DeletedOrganization.objects.get(pk=acme.pk)
    assert (record.name, record.slug, record.deleted_by, record.reason, record.purged_at) == (
        "Acme",
        "acme",
        "alice@example.com",
        "moving on",
        None,
    )
    event = AuditEvent.unscoped.get(organization=acme, action=Action.ORGANIZATION_DELETED)
    assert event.actor_id == alice.pk and event.details["tokens_revoked"] == 3
    # Deleting again, or lifting the "suspension", changes nothing.
    organization_delete(organization=acme, by=alice)
    assert DeletedOrganization.objects.count() == 1
    operator = Client()
    operator.force_login(User.objects.create_superuser("ops@example.com", "pw-ops-123456"))
    operator.post("/admin/accounts/organization/", {"action": "unsuspend", "_selected_action": [str(acme.pk)]})
    assert Organization.objects.get(pk=acme.pk).suspended_at is not None


def test_the_purge_removes_every_row_of_it_and_its_sandbox_and_nothing_else(
    alice_id: Any, charlie_id: Any, alice: User, acme: Organization, globex: Organization, github: Any, issue_token
) -> None:
    build_world(in_process_caller(alice_id), "Ours")
    test_identity = authenticate_token(issue_token(alice, acme, mode="test"))
    build_world(in_process_caller(test_identity), "Sandboxed")
    build_world(in_process_caller(charlie_id), "Theirs")
    ours = [acme.pk, acme.sandbox.pk]
    theirs = [globex.pk, globex.sandbox.pk]
    installation_id = GitHubConnection.unscoped.get(organization=acme).installation_id
    assert installation_id in github.installations
    before_ours, before_theirs = rows_of(ours), rows_of(theirs)
    assert len(before_ours) >= 15, before_ours  # every kind of row was made
    # Every model that points at an organization is purged by accounts.deletion.
    assert {m for m, _ in organization_models()} == {m for m, _ in organization_keys()}

    organization_delete(organization=acme, by=alice)
    purged = organization_purge(acme.pk, batch=3)

    # The project tallies go with the rows they count (the database's triggers delete a
    # bucket that reaches zero), so the purge's own count may not include them.
    counted_by_purge = sum(n for key, n in before_ours.items() if not key.startswith("projects.ProjectTally."))
    assert rows_of(ours) == {} and purged > counted_by_purge
    assert not Organization.objects.filter(pk__in=ours).exists()
    assert rows_of(theirs) == before_theirs
    assert f"DELETE /api/v3/app/installations/{installation_id}" in github.requests
    assert installation_id not in github.installations
    assert DeletedOrganization.objects.get(pk=acme.pk).purged_at is not None
    # Run again (a retried task): nothing left to do.
    assert organization_purge(acme.pk) == 0


def test_a_purge_cut_short_resumes(alice: User, acme: Organization, alice_id: Any, call: Any) -> None:
    for i in range(5):
        call(alice_id, "create_note", title=f"N{i}", content="x")
    organization_delete(organization=acme, by=alice)
    from tools.notes.models import Note

    # A first run that died after one batch of notes.
    ids = list(Note.unscoped.filter(organization=acme).values_list("pk", flat=True)[:2])
    Note.unscoped.filter(pk__in=ids).delete()
    organization_purge(acme.pk)
    assert rows_of([acme.pk, acme.sandbox.pk]) == {}


def test_only_a_deleted_organization_is_ever_purged(acme: Organization) -> None:
    with pytest.raises(InvalidArguments, match="not deleted"):
        organization_purge(acme.pk)
    assert Organization.objects.filter(pk=acme.pk).exists()
    with pytest.raises(InvalidArguments, match="sandbox"):
        organization_delete(organization=acme.sandbox)


def test_the_stripe_subscription_is_cancelled(
    alice: User, acme: Organization, stripe_on: Any, stripe_catalog: Any
) -> None:
    customer = customer_for(acme)
    price = next(p for p in stripe_on.of_type("price") if p["lookup_key"] == "pro")
    subscription = stripe_on.subscribe(customer.id, price["id"])
    subscription_sync(subscription["id"])
    assert OrganizationBilling.objects.get(pk=acme.pk).subscription_status == "active"
    stripe_on.requests.clear()
    organization_delete(organization=acme, by=alice)
    assert stripe_on.requests == []  # not in the request: in the background
    organization_purge(acme.pk)
    assert f"DELETE /v1/subscriptions/{subscription['id']}" in stripe_on.requests
    assert subscription["id"] not in stripe_on.objects


def test_operators_delete_from_the_admin(acme: Organization, alice_token: str) -> None:
    operator = Client()
    operator.force_login(User.objects.create_superuser("ops@example.com", "pw-ops-123456"))
    response = operator.post(
        "/admin/accounts/organization/", {"action": "delete_organization", "_selected_action": [str(acme.pk)]}
    )
    assert response.status_code == 302
    assert rest_call(alice_token) == 401
    record = DeletedOrganization.objects.get(pk=acme.pk)
    assert record.deleted_by == "operator ops@example.com"
    assert "Acme" in operator.get("/admin/audit/deletedorganization/").content.decode()


def test_the_purge_is_a_celery_task_enqueued_when_the_deletion_commits(
    alice: User, acme: Organization, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    from accounts.tasks import purge_organization, resume_unfinished_purges

    # Through Django's settings (restored after the test), not app.conf: a value set on
    # app.conf outlives the test and hides the setting from every later test.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert purge_organization.app.conf.task_always_eager is True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        organization_delete(organization=acme, by=alice)
    assert len(callbacks) >= 1
    assert not Organization.objects.filter(pk__in=[acme.pk, acme.sandbox.pk]).exists()
    assert DeletedOrganization.objects.get(pk=acme.pk).purged_at is not None
    assert resume_unfinished_purges() == 0  # nothing left behind


def test_the_pages_show_deletion_to_owners_only(alice: User, bob: User, acme: Organization) -> None:
    owner_page = signed_in(alice).get("/members/").content.decode()
    assert "/organization/delete" in owner_page
    assert "/organization/delete" not in signed_in(bob).get("/members/").content.decode()
    confirm = signed_in(alice).get("/organization/delete")
    assert confirm.status_code == 200 and "Type the organization" in confirm.content.decode()
    account = signed_in(bob).get("/account/")
    assert account.status_code == 200 and "/account/delete" in account.content.decode()
