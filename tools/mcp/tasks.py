"""Periodic clean-up of transport sessions."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from tools.mcp.idempotency import purge_expired
from tools.mcp.models import McpSession

# A session nobody used for this long is forgotten; clients start a new one (404).
IDLE_LIMIT = timedelta(days=1)


@shared_task(acks_late=True, ignore_result=True)
def purge_stale_sessions() -> int:
    """Delete transport sessions closed or idle for more than a day. Idempotent."""
    cutoff = timezone.now() - IDLE_LIMIT
    deleted, _ = McpSession.objects.filter(last_seen_at__lt=cutoff).delete()
    return deleted


@shared_task(acks_late=True, ignore_result=True)
def purge_expired_idempotency_keys() -> int:
    """Forget idempotency keys older than 24 hours (beat, hourly). Idempotent."""
    return purge_expired()
