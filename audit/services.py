"""Writing the audit trail.

`record()` is the one way in. It must run inside the transaction of the change it
records (it refuses to run outside one), so a change rolled back leaves no audit
row, and a committed change always has one. Callers: accounts (sign-ins,
invitations, members, tokens, deletion), oauth (grants), billing (plans, checkout,
Stripe), githubint (connections), and export/import with DATA_EXPORTED and
DATA_IMPORTED:

    from audit.actions import Action
    from audit.services import record

    with transaction.atomic():
        ...  # the change
        record(organization=org, action=Action.DATA_EXPORTED, actor=request.user,
               target="project api", details={"lines": 1200})

`actor` is a User, a user id, an `orchestra.actor.Actor`, or None (then give
`actor_label`: "Stripe", "operator (manage.py setplan)"). The address comes from the
request being answered (audit.context), or `ip_address=` when given.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from audit import context
from audit.actions import Action
from audit.models import ACTOR_LABEL_MAX, TARGET_MAX, AuditEvent, DeletedOrganization

# Details are a few facts about the act, never a payload: bounded in keys, size and depth.
MAX_DETAIL_KEYS = 20
MAX_DETAIL_STRING = 500
MAX_DETAIL_ITEMS = 20
SYSTEM_LABEL = "system"


class AuditOutsideTransaction(RuntimeError):
    """record() was called outside the transaction of the change it records."""


def _bounded_value(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | set) and depth == 0:
        return [_bounded_value(item, depth + 1) for item in list(value)[:MAX_DETAIL_ITEMS]]
    return str(value)[:MAX_DETAIL_STRING]


def bounded_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """At most MAX_DETAIL_KEYS keys; scalars, and flat lists of MAX_DETAIL_ITEMS at
    most; strings cut at MAX_DETAIL_STRING characters. Anything else is its text."""
    items = list((details or {}).items())[:MAX_DETAIL_KEYS]
    return {str(key)[:80]: _bounded_value(value) for key, value in items}


def _actor(actor: Any, label: str) -> tuple[Any, str]:
    """(user id or None, label) for whatever names the actor."""
    if actor is None:
        return None, label or SYSTEM_LABEL
    if hasattr(actor, "email"):  # a User
        return actor.pk, label or actor.email
    user_id = getattr(actor, "user_id", actor)  # an Actor, or an id
    if user_id is None:
        return None, label or getattr(actor, "tool", "") or SYSTEM_LABEL
    if not label:
        email = get_user_model()._default_manager.filter(pk=user_id).values_list("email", flat=True).first()
        label = email or "deleted user"
    return user_id, label


def record(
    *,
    organization: Any,
    action: Action | str,
    actor: Any = None,
    actor_label: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Write one audit row for `organization` (an Organization or its id), in the
    caller's transaction."""
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction("audit.services.record must run inside the change's transaction")
    action = Action(action)  # an unknown action is a programming error: ValueError
    user_id, label = _actor(actor, actor_label)
    # An event in a sandbox belongs to the trail of its live organization.
    live_id = getattr(organization, "live_organization_id", None) or getattr(organization, "pk", organization)
    return AuditEvent.unscoped.create(
        organization_id=live_id,
        action=action,
        actor_id=user_id,
        actor_label=label[:ACTOR_LABEL_MAX],
        target=target[:TARGET_MAX],
        details=bounded_details(details),
        ip_address=ip_address if ip_address is not None else context.client_ip(),
    )


def record_deleted_organization(
    *, organization: Any, deleted_by: str, reason: str = "", ip_address: str | None = None
) -> DeletedOrganization:
    """The record of a deleted organization, outside it (it survives the purge).
    Deleting again keeps the first record."""
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction("record_deleted_organization must run inside the deletion's transaction")
    row, _ = DeletedOrganization.objects.get_or_create(
        id=organization.pk,
        defaults={
            "name": organization.name,
            "slug": organization.slug,
            "deleted_by": deleted_by[:ACTOR_LABEL_MAX],
            "reason": reason[:300],
            "ip_address": ip_address if ip_address is not None else context.client_ip(),
        },
    )
    return row


def deleted_organization_purged(organization_id: uuid.UUID) -> None:
    DeletedOrganization.objects.filter(pk=organization_id, purged_at__isnull=True).update(purged_at=timezone.now())


BATCH = 5000


def expired_events_purge(*, now: Any = None) -> int:
    """Delete audit rows older than AUDIT_RETENTION_DAYS (0 keeps them for ever), in
    batches so no one transaction holds many rows. Returns how many went."""
    days = settings.AUDIT_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(AuditEvent.unscoped.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:BATCH])
            if not ids:
                return total
            total += AuditEvent.unscoped.filter(pk__in=ids).delete()[0]
