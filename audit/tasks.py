"""Periodic upkeep of the audit trail."""

from __future__ import annotations

from celery import shared_task

from audit.services import expired_events_purge


@shared_task(name="audit.tasks.purge_expired_events", acks_late=True, ignore_result=True)
def purge_expired_events() -> int:
    """Daily: audit rows past AUDIT_RETENTION_DAYS. Idempotent."""
    return expired_events_purge()
