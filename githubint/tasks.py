"""Celery tasks for GitHub: repository syncs, the periodic refresh, webhook deliveries.
They take ids, are idempotent and acks_late."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.db.models import Q
from django.utils import timezone
from githubkit.exception import GitHubException, RateLimitExceeded

from githubint.client import message_of, status_of
from githubint.errors import unwrap
from githubint.models import ConnectionStatus, GitHubConnection, Repository, SyncStatus
from githubint.selectors import github_for, installation_url, usable_connection
from githubint.sync import fetch_repository
from orchestra.errors import ToolError
from orchestra.tenancy import tenant_scope

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


class RetryLater(Exception):
    """GitHub's rate limit: the sync may run again after `seconds`."""

    def __init__(self, seconds: float, message: str) -> None:
        super().__init__(message)
        self.seconds = seconds


def _fail(repository_id: str, message: str) -> str:
    Repository.unscoped.filter(pk=repository_id).update(sync_status=SyncStatus.ERROR, sync_error=message[:1000])
    return SyncStatus.ERROR


def sync_now(repository_id: str) -> str:
    """Sync one repository; returns its new sync status. Raises RetryLater on a rate limit."""
    repository = Repository.unscoped.filter(pk=repository_id).first()
    if repository is None:
        return "missing"
    Repository.unscoped.filter(pk=repository_id).update(sync_status=SyncStatus.SYNCING)
    with tenant_scope(repository.organization_id):
        try:
            connection = usable_connection(repository.organization_id)
            github = github_for(connection)
        except ToolError as exc:
            return _fail(repository_id, exc.message)
        try:
            try:
                data = fetch_repository(github, repository.full_name)
            except GitHubException as wrapped:
                raise unwrap(wrapped) from None
        except RateLimitExceeded as exc:
            reset = timezone.now() + exc.retry_after
            Repository.unscoped.filter(pk=repository_id).update(
                sync_status=SyncStatus.PENDING,
                sync_error=f"GitHub's rate limit is exhausted; the sync runs again after {reset:%Y-%m-%dT%H:%M:%SZ}",
            )
            raise RetryLater(exc.retry_after.total_seconds(), f"rate limited until {reset.isoformat()}") from None
        except GitHubException as exc:
            if status_of(exc) == 404:
                return _fail(
                    repository_id,
                    f"GitHub cannot see {repository.full_name}: add it to the installation at "
                    f"{installation_url(connection)}",
                )
            return _fail(repository_id, f"GitHub failed: {message_of(exc)}")
    data.pop("full_name", None)
    Repository.unscoped.filter(pk=repository_id).update(
        **data, sync_status=SyncStatus.OK, sync_error="", last_synced_at=timezone.now()
    )
    return SyncStatus.OK


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, ignore_result=True)
def sync_repository(self: Any, repository_id: str) -> str:
    """Fetch a repository's default branch, branches, languages, open pull requests and
    latest commits. A rate limit retries once GitHub allows it."""
    try:
        return sync_now(repository_id)
    except RetryLater as wait:
        if self.request.called_directly or self.request.is_eager:
            return SyncStatus.PENDING
        raise self.retry(countdown=max(1, int(wait.seconds) + 1), max_retries=MAX_RETRIES) from None


def retry_in_process(repository_id: str, seconds: float) -> None:
    """The embedded default (no worker for syncs): try again on a timer."""
    from githubint.jobs import schedule_sync

    timer = threading.Timer(seconds, schedule_sync, args=[repository_id])
    timer.daemon = True
    timer.start()


@shared_task(acks_late=True, ignore_result=True)
def refresh_repositories() -> int:
    """The periodic refresh (beat): every repository of an active connection that was not
    synced recently, or whose last sync failed, is synced again."""
    from django.conf import settings

    active = GitHubConnection.unscoped.filter(status=ConnectionStatus.ACTIVE)
    organizations = set(active.values_list("organization_id", flat=True))
    cutoff = timezone.now() - timedelta(seconds=settings.GITHUB_SYNC_INTERVAL_SECONDS / 2)
    due = Repository.unscoped.filter(
        Q(organization_id__in=organizations) | Q(organization__live_organization_id__in=organizations)
    ).filter(Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=cutoff) | Q(sync_status=SyncStatus.ERROR))
    ids = [str(pk) for pk in due.values_list("pk", flat=True)[:10_000]]
    for repository_id in ids:
        sync_repository.delay(repository_id)
    return len(ids)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, ignore_result=True)
def handle_delivery(self: Any, delivery_id: str) -> str:
    """Handle one webhook delivery; marked handled only when this succeeds."""
    from githubint.webhooks import handle_now

    try:
        return handle_now(delivery_id)
    except Exception as exc:
        logger.exception("GitHub delivery %s failed", delivery_id)
        if self.request.called_directly or self.request.is_eager or self.request.retries >= MAX_RETRIES:
            return "failed"
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
