"""Periodic work of the tasks domain."""

from __future__ import annotations

from celery import shared_task

from tools.tasks.services import claims_release_stale


@shared_task(acks_late=True, ignore_result=True)
def release_stale_claims() -> int:
    """Return claims whose task went unchanged for TASK_CLAIM_TIMEOUT_SECONDS to the
    queue (beat, every minute). Idempotent."""
    return claims_release_stale()
