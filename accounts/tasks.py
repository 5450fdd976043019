"""Periodic upkeep of identity rows."""

from __future__ import annotations

from celery import shared_task

from accounts.deletion import organization_purge, unfinished_purges
from accounts.invitations import invitations_lapse


@shared_task(acks_late=True, ignore_result=True)
def lapse_expired_invitations() -> int:
    """Give back the plan seats of invitations that expired unanswered (so the usage
    meters drop when an invitation expires, not only at the next invitation).
    Idempotent: a lapsed invitation is closed once."""
    return invitations_lapse()


@shared_task(
    name="accounts.tasks.purge_organization",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=None,
)
def purge_organization(organization_id: str) -> int:
    """Remove a deleted organization's rows (accounts.deletion). Idempotent: a run cut
    short, or a retry after Stripe or GitHub failed to answer, resumes."""
    return organization_purge(organization_id)


@shared_task(name="accounts.tasks.resume_unfinished_purges", acks_late=True, ignore_result=True)
def resume_unfinished_purges() -> int:
    """Hourly: enqueue the purge of every deleted organization whose rows remain (a
    worker that died mid-purge, a lost message)."""
    pending = unfinished_purges()
    for organization_id in pending:
        purge_organization.delay(str(organization_id))
    return len(pending)
