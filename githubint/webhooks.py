"""GitHub's webhooks: `POST /webhooks/github/`.

The request is checked and recorded, nothing more: the signature (X-Hub-Signature-256,
HMAC-SHA256 of the body with GITHUB_APP_WEBHOOK_SECRET, compared in constant time),
then the delivery (X-GitHub-Delivery) is stored with its body and handed to Celery on
commit; GitHub gets 202 at once. A delivery already handled is answered 200 and does
nothing; one that failed runs again when GitHub redelivers it (same id). A delivery is
marked handled only once its task succeeded.

Handled: installation (created, deleted, suspend, unsuspend), installation_repositories
(added, removed), push (branch heads, latest commits), pull_request (open pull requests).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from githubkit.webhooks import verify

from githubint.models import ConnectionStatus, DeliveryStatus, GitHubConnection, Repository, SyncStatus, WebhookDelivery
from githubint.services import connection_set_status
from githubint.sync import COMMITS_KEPT, pull_summary

logger = logging.getLogger(__name__)

# A delivery still queued after this long is taken as lost: a redelivery queues it again.
IN_FLIGHT = timedelta(minutes=10)
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="github-webhooks")


def _answer(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


@csrf_exempt
@require_POST
def github_webhook(request: HttpRequest) -> HttpResponse:
    # The body was bounded as it arrived (orchestra.body_limits: this route's limit is
    # GITHUB_WEBHOOK_MAX_BYTES). Read the stream directly: Django's
    # DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is for forms; GitHub sends up to 25 MiB.
    body = request.read()
    secret = settings.GITHUB_APP_WEBHOOK_SECRET
    signature = request.headers.get("X-Hub-Signature-256", "")
    if not secret or not signature.startswith("sha256=") or not verify(secret, body, signature):
        return _answer(401, "bad or missing X-Hub-Signature-256")
    delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
    event = request.headers.get("X-GitHub-Event", "").strip()
    if not delivery_id or len(delivery_id) > 100 or not event or len(event) > 50:
        return _answer(400, "X-GitHub-Delivery and X-GitHub-Event are required")
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if row is not None:
            if row.status == DeliveryStatus.HANDLED:
                return _answer(200, "already handled")
            if row.status == DeliveryStatus.RECEIVED and row.received_at > timezone.now() - IN_FLIGHT:
                return _answer(202, "already queued")
            row.payload, row.status, row.received_at = body, DeliveryStatus.RECEIVED, timezone.now()
            row.save(update_fields=["payload", "status", "received_at"])
        else:
            WebhookDelivery.objects.create(delivery_id=delivery_id, event=event, payload=body)
        transaction.on_commit(lambda: schedule_delivery(delivery_id))
    return _answer(202, "queued")


def schedule_delivery(delivery_id: str) -> None:
    """By a Celery worker with REDIS_URL (or eager tasks), else on a thread of this process."""
    from githubint.tasks import handle_delivery

    if settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        handle_delivery.delay(delivery_id)
        return
    _executor.submit(_run, delivery_id)


def _run(delivery_id: str) -> None:
    try:
        handle_now(delivery_id)
    except Exception:
        logger.exception("GitHub delivery %s failed", delivery_id)
    finally:
        connections.close_all()


def handle_now(delivery_id: str) -> str:
    """Handle a stored delivery; idempotent. Marks it handled on success, failed (and
    keeps its body for a redelivery) on an error, which is raised again."""
    row = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if row is None:
        return "missing"
    if row.status == DeliveryStatus.HANDLED:
        return "duplicate"
    try:
        payload = json.loads(bytes(row.payload))
        if not isinstance(payload, dict):
            raise ValueError("the payload is not a JSON object")
        with transaction.atomic():
            outcome = _dispatch(row.event, payload)
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                status=DeliveryStatus.HANDLED,
                action=str(payload.get("action") or "")[:50],
                installation_id=_installation_id(payload),
                payload=b"",
                error="",
                attempts=row.attempts + 1,
                handled_at=timezone.now(),
            )
        return outcome
    except Exception as exc:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:1000], attempts=row.attempts + 1
        )
        raise


def _installation_id(payload: dict[str, Any]) -> int | None:
    installation = payload.get("installation")
    if isinstance(installation, dict) and isinstance(installation.get("id"), int):
        return int(installation["id"])
    return None


def _repositories(payload: dict[str, Any], full_name: str) -> QuerySet[Repository]:
    """The connected rows of `full_name` in the organizations (and their sandboxes) this
    installation is linked to. Across organizations on purpose: a webhook names none."""
    installation_id = _installation_id(payload)
    if installation_id is None:
        return Repository.unscoped.none()
    organizations = list(
        GitHubConnection.unscoped.filter(installation_id=installation_id).values_list("organization_id", flat=True)
    )
    return Repository.unscoped.filter(
        Q(organization_id__in=organizations) | Q(organization__live_organization_id__in=organizations),
        full_name__iexact=full_name,
    )


def _dispatch(event: str, payload: dict[str, Any]) -> str:
    action = payload.get("action")
    if event == "installation":
        installation_id = _installation_id(payload)
        status = {
            "deleted": ConnectionStatus.DELETED,
            "suspend": ConnectionStatus.SUSPENDED,
            "unsuspend": ConnectionStatus.ACTIVE,
            "created": ConnectionStatus.ACTIVE,
        }.get(str(action))
        if installation_id is None or status is None:
            return "ignored"
        connection_set_status(installation_id=installation_id, status=status)
        return f"installation {status}"
    if event == "installation_repositories":
        from githubint.jobs import schedule_sync

        for repo in payload.get("repositories_removed") or []:
            _repositories(payload, str(repo.get("full_name", ""))).update(
                sync_status=SyncStatus.ERROR,
                sync_error=f"{repo.get('full_name')} was removed from the GitHub installation; add it back to sync it",
            )
        for repo in payload.get("repositories_added") or []:
            for pk in _repositories(payload, str(repo.get("full_name", ""))).values_list("pk", flat=True):
                transaction.on_commit(partial(schedule_sync, pk))
        return "repositories"
    if event == "push":
        return _push(payload)
    if event == "pull_request":
        return _pull_request(payload)
    return "ignored"


def _push(payload: dict[str, Any]) -> str:
    ref = str(payload.get("ref", ""))
    if not ref.startswith("refs/heads/"):
        return "ignored"
    branch = ref.removeprefix("refs/heads/")
    full_name = str((payload.get("repository") or {}).get("full_name", ""))
    for row in _repositories(payload, full_name).select_for_update():
        branches = [b for b in row.branches if b.get("name") != branch]
        if not payload.get("deleted"):
            branches.append({"name": branch, "sha": str(payload.get("after", ""))})
        row.branches = sorted(branches, key=lambda b: b["name"])
        default = (payload.get("repository") or {}).get("default_branch") or row.default_branch
        if branch == default and not payload.get("deleted"):
            pushed = [
                {
                    "sha": c.get("id", ""),
                    "message": (c.get("message") or "").splitlines()[0][:200] if c.get("message") else "",
                    "author": (c.get("author") or {}).get("username") or (c.get("author") or {}).get("name", ""),
                    "date": c.get("timestamp"),
                    "url": c.get("url", ""),
                }
                for c in reversed(payload.get("commits") or [])
            ]
            known = {c["sha"] for c in pushed}
            row.latest_commits = (pushed + [c for c in row.latest_commits if c.get("sha") not in known])[:COMMITS_KEPT]
        row.save(update_fields=["branches", "latest_commits", "updated_at"])
    return "push"


def _pull_request(payload: dict[str, Any]) -> str:
    pull = payload.get("pull_request")
    if not isinstance(pull, dict) or not isinstance(pull.get("number"), int):
        return "ignored"
    full_name = str((payload.get("repository") or {}).get("full_name", ""))
    summary = pull_summary(pull)
    for row in _repositories(payload, full_name).select_for_update():
        others = [p for p in row.open_pull_requests if p.get("number") != summary["number"]]
        row.open_pull_requests = (
            others if pull.get("state") != "open" else sorted([summary, *others], key=lambda p: -p["number"])
        )
        row.save(update_fields=["open_pull_requests", "updated_at"])
    return "pull_request"
