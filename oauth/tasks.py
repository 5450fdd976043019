"""Periodic upkeep of OAuth clients."""

from __future__ import annotations

from celery import shared_task

from oauth.services import spent_codes_delete, unused_clients_delete


@shared_task(name="oauth.tasks.tidy_unused_clients")
def tidy_unused_clients() -> int:
    """Daily: registered clients nobody used, and spent authorization codes."""
    return unused_clients_delete() + spent_codes_delete()
