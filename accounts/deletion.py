"""Deleting an organization, and deleting a person's account (docs/decisions/0020).

An organization is deleted in two steps:

1. At once, in one transaction (`organization_delete`): it and its sandbox are
   suspended (every token check refuses them, the dashboard stops listing them, the
   control bus closes their open streams in every process when the transaction
   commits), every token and OAuth grant is revoked, open invitations are withdrawn,
   and the deletion is recorded twice: in the organization's own trail, and outside
   it (audit.DeletedOrganization), which outlives its rows.
2. In the background (`organization_purge`, the Celery task accounts.tasks.purge_organization):
   the `organization_purging` signal lets billing cancel the Stripe subscription and
   githubint unlink the GitHub App installation, then every row of every model with a
   foreign key to the organization is deleted in batches (dependents first), then the
   organizations themselves. Every step can run again: a purge cut short resumes.

A person's account (`account_delete`) is refused while they are the last owner of an
organization that has other members. Otherwise they leave every organization (their
tokens there revoked, seats given back); an organization they were the only member
of is deleted as above; the user row goes, and the rows they authored stay, their
author now null: "deleted user" (the foreign keys to the user are SET_NULL).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.dispatch import Signal
from django.utils import timezone

from accounts.members import lock_organization, membership_end_for_account_deletion
from accounts.models import Invitation, MCPToken, Membership, Organization, Role, User
from audit.actions import Action
from audit.models import DeletedOrganization
from audit.services import deleted_organization_purged, record, record_deleted_organization
from orchestra.errors import Conflict, InvalidArguments, PermissionDenied

logger = logging.getLogger(__name__)

# Sent by the purge with `organization=` (the live organization, its rows still there)
# before any row is removed: billing cancels its Stripe subscription, githubint unlinks
# its GitHub App installation. A receiver that raises stops the purge, which is retried;
# receivers must therefore be idempotent.
organization_purging = Signal()

LAST_OWNER_OF = (
    "you are the last owner of {names}, which other people still belong to: make another member owner "
    "(Members page), or delete the organization, then delete your account"
)


def is_deleted(organization_id: Any) -> bool:
    """Whether the organization was deleted (its rows may still be being removed)."""
    return DeletedOrganization.objects.filter(pk=organization_id).exists()


def _label(by: User | None, by_label: str) -> str:
    return by_label or (by.email if by is not None else "operator")


def organization_delete(
    *, organization: Organization, by: User | None = None, by_label: str = "", reason: str = ""
) -> DeletedOrganization:
    """Delete a live organization (and its sandbox): unusable at once, its rows removed
    in the background. `by` must be one of its owners; operators pass by=None and say
    who they are in `by_label`. Deleting it again changes nothing."""
    if organization.is_sandbox:
        raise InvalidArguments("a sandbox is deleted with its live organization")
    reason = reason.strip()[:300]
    with transaction.atomic():
        lock_organization(organization.pk)
        existing = DeletedOrganization.objects.filter(pk=organization.pk).first()
        if existing is not None:
            return existing
        if by is not None:
            role = Membership.objects.filter(organization=organization, user=by).values_list("role", flat=True).first()
            if role != Role.OWNER:
                raise PermissionDenied("only owners delete an organization")
        now = timezone.now()
        # Suspended first: the signal this save sends closes every stream of the
        # organization (tokens of both modes name the live one) when this commits.
        for org in _organization_and_sandbox(organization):
            if org.suspended_at is None:
                org.suspended_at = now
                org.save(update_fields=["suspended_at"])
        revoked = 0
        for token in (
            MCPToken.objects.select_for_update()
            .filter(organization=organization, revoked_at__isnull=True)
            .order_by("pk")
        ):
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])  # closes its streams; an OAuth grant's tokens go too
            revoked += 1
        Invitation.objects.filter(organization=organization, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        label = _label(by, by_label)
        record(
            organization=organization,
            action=Action.ORGANIZATION_DELETED,
            actor=by,
            actor_label=label,
            target=organization.name,
            details={"slug": organization.slug, "reason": reason, "tokens_revoked": revoked},
        )
        deleted = record_deleted_organization(organization=organization, deleted_by=label, reason=reason)
        organization_id = organization.pk
        transaction.on_commit(lambda: schedule_purge(organization_id))
    return deleted


def _organization_and_sandbox(organization: Organization) -> list[Organization]:
    """The live organization and its sandbox, locked, in primary-key order."""
    return list(
        Organization.objects.select_for_update()
        .filter(models.Q(pk=organization.pk) | models.Q(live_organization_id=organization.pk))
        .order_by("pk")
    )


def schedule_purge(organization_id: uuid.UUID) -> None:
    """Enqueue the purge (after the deletion committed). A broker that is away does not
    fail the deletion: accounts.tasks.resume_unfinished_purges finds it within the hour."""
    from accounts.tasks import purge_organization

    try:
        purge_organization.delay(str(organization_id))
    except Exception:
        logger.warning("could not enqueue the purge of organization %s; the hourly task will", organization_id)


# --- the background removal ---------------------------------------------------------


def organization_models() -> list[tuple[type[models.Model], str]]:
    """Every model with a foreign key to Organization (but Organization itself), with
    that key's name; a model is listed before the models it points to, so deleting in
    this order never cascades a batch into another model's rows."""
    found: dict[type[models.Model], str] = {}
    for model in apps.get_models():
        if model is Organization:
            continue
        for model_field in model._meta.concrete_fields:
            if model_field.is_relation and model_field.related_model is Organization:
                found.setdefault(model, model_field.name)
    # Kahn's order over the foreign keys among these models: dependents first.
    points_to = {
        model: {
            f.related_model
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model in found and f.related_model is not model
        }
        for model in found
    }
    pointed_by: dict[Any, int] = {model: 0 for model in found}
    for targets in points_to.values():
        for target in targets:
            pointed_by[target] += 1
    ordered: list[type[models.Model]] = []
    ready = sorted((m for m in found if pointed_by[m] == 0), key=lambda m: m._meta.label)
    while ready:
        model = ready.pop(0)
        ordered.append(model)
        for target in sorted(points_to[model], key=lambda m: m._meta.label):
            pointed_by[target] -= 1
            if pointed_by[target] == 0:
                ready.append(target)
    # A cycle (none today) would leave models out: they go last, cascades doing the rest.
    ordered += sorted((m for m in found if m not in ordered), key=lambda m: m._meta.label)
    return [(model, found[model]) for model in ordered]


def _delete_in_batches(model: type[models.Model], key: str, organization_id: Any, batch: int) -> int:
    manager: Any = model._base_manager  # tenant models: every organization's rows, on purpose
    total = 0
    while True:
        with transaction.atomic():
            ids = list(manager.filter(**{key: organization_id}).order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return total
            total += manager.filter(pk__in=ids).delete()[0]


def organization_purge(organization_id: Any, *, batch: int | None = None) -> int:
    """Remove every row of a deleted organization and its sandbox (idempotent; a purge
    cut short resumes where it stopped). Refuses an organization that was not deleted.
    Returns how many rows went."""
    if not is_deleted(organization_id):
        raise InvalidArguments(f"organization {organization_id} was not deleted: nothing is purged")
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        deleted_organization_purged(organization_id)
        return 0
    # Stripe and GitHub first, while the rows naming the subscription and installation exist.
    organization_purging.send(sender=Organization, organization=organization)
    batch = batch or settings.DELETION_BATCH_SIZE
    sandboxes = list(Organization.objects.filter(live_organization_id=organization.pk).values_list("pk", flat=True))
    total = 0
    for org_id in [*sandboxes, organization.pk]:
        for model, key in organization_models():
            total += _delete_in_batches(model, key, org_id, batch)
    with transaction.atomic():
        total += Organization.objects.filter(pk__in=sandboxes).delete()[0]
        total += Organization.objects.filter(pk=organization.pk).delete()[0]
        deleted_organization_purged(organization.pk)
    logger.info("purged organization %s: %d rows", organization.pk, total)
    return total


def unfinished_purges() -> list[uuid.UUID]:
    """Deleted organizations whose rows are not all gone yet (a purge that failed)."""
    return list(DeletedOrganization.objects.filter(purged_at__isnull=True).values_list("pk", flat=True))


# --- a person's account ---------------------------------------------------------------


@dataclass
class AccountDeletionPlan:
    """What deleting a person's account would do."""

    blocking: list[Organization] = field(default_factory=list)  # last owner, others still there: refused
    deleted: list[Organization] = field(default_factory=list)  # they are its only member: deleted with them
    left: list[Organization] = field(default_factory=list)  # they leave it

    @property
    def allowed(self) -> bool:
        return not self.blocking


def account_deletion_plan(user: User, *, lock: bool = False) -> AccountDeletionPlan:
    """What deleting `user` would do to each live organization they belong to. With
    `lock`, the organizations are locked first (in primary-key order, decision 0010)."""
    memberships = list(
        Membership.objects.filter(user=user, organization__is_sandbox=False)
        .select_related("organization")
        .order_by("organization_id")
    )
    if lock:
        for membership in memberships:
            lock_organization(membership.organization_id)
    plan = AccountDeletionPlan()
    for membership in memberships:
        org = membership.organization
        if is_deleted(org.pk):
            continue
        others = Membership.objects.filter(organization=org).exclude(user=user)
        if not others.exists():
            plan.deleted.append(org)
        elif membership.role == Role.OWNER and not others.filter(role=Role.OWNER).exists():
            plan.blocking.append(org)
        else:
            plan.left.append(org)
    return plan


def last_owner_message(organizations: Iterable[Organization]) -> str:
    return LAST_OWNER_OF.format(names=", ".join(org.name for org in organizations))


def account_delete(*, user: User, by_label: str = "") -> AccountDeletionPlan:
    """Delete `user`'s account: refused (Conflict, nothing changed) while they are the
    last owner of an organization others still belong to. Otherwise they leave every
    organization, those they were alone in are deleted, and the user row goes; what
    they authored stays, its author null ("deleted user")."""
    with transaction.atomic():
        plan = account_deletion_plan(user, lock=True)
        if not plan.allowed:
            raise Conflict(
                last_owner_message(plan.blocking), details={"organizations": [o.slug for o in plan.blocking]}
            )
        label = by_label or user.email
        for org in plan.deleted:
            organization_delete(
                organization=org, by=None, by_label=label, reason="its only member deleted their account"
            )
        for org in plan.left:
            membership = Membership.objects.get(organization=org, user=user)
            membership_end_for_account_deletion(membership=membership)
        # Inactive first: the save closes the person's remaining streams everywhere.
        user.is_active = False
        user.save(update_fields=["is_active"])
        User.objects.filter(pk=user.pk).delete()
    return plan
