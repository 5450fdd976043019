"""Periodic upkeep of OAuth clients."""

from __future__ import annotations

from celery import shared_task

from oauth.services import unused_clients_delete


@shared_task(name="oauth.tasks.tidy_unused_clients")
def tidy_unused_clients() -> int:
    return unused_clients_delete()
