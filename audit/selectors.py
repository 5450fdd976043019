"""Reading the audit trail: one organization's rows, filtered."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from audit.models import AuditEvent


def audit_events(
    *,
    organization_id: Any,
    action: str = "",
    actor: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The organization's audit rows, newest first. `actor` matches the actor's label
    (an address, whole or part); `since` and `until` are days, both included."""
    rows = AuditEvent.unscoped.filter(organization_id=organization_id)
    if action:
        rows = rows.filter(action=action)
    if actor:
        rows = rows.filter(actor_label__icontains=actor)
    if since is not None:
        rows = rows.filter(created_at__gte=_start_of(since))
    if until is not None:
        rows = rows.filter(created_at__lt=_start_of(until + timedelta(days=1)))
    return rows.order_by("-created_at", "-id")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())
