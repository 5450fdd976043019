"""Periodic upkeep of identity rows."""

from __future__ import annotations

from celery import shared_task

from accounts.invitations import invitations_lapse


@shared_task(acks_late=True, ignore_result=True)
def lapse_expired_invitations() -> int:
    """Give back the plan seats of invitations that expired unanswered (so the usage
    meters drop when an invitation expires, not only at the next invitation).
    Idempotent: a lapsed invitation is closed once."""
    return invitations_lapse()
