"""POST /webhooks/github/: signature checked in constant time, deliveries recorded and
handled once (and again only if they failed), installation, repository, push and pull
request events applied."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.test import Client

from githubint.models import ConnectionStatus, DeliveryStatus, GitHubConnection, Repository, WebhookDelivery
from githubint.webhooks import handle_now
from orchestra.celery import app
from tests.conftest import asgi_request, ok
from tests.github_fixtures import WEBHOOK_SECRET
from tests.githubint.conftest import sync

URL = "/webhooks/github/"


@pytest.fixture
def eager(settings):
    """Deliveries are handled inline, as a worker would (the test's transaction never commits:
    on_commit callbacks are run by django_capture_on_commit_callbacks)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert app.conf.task_always_eager is True


def signed(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(event: str, payload: dict, *, delivery: str | None = None, signature: str | None = None, capture=None):
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signed(body) if signature is None else signature,
    }
    client = Client()
    if capture is None:
        return client.post(URL, data=body, content_type="application/json", headers=headers)
    with capture(execute=True):
        return client.post(URL, data=body, content_type="application/json", headers=headers)


def installation(connected) -> dict:
    return {"id": connected.acme.id, "account": {"login": "acme"}}


@pytest.fixture
def widgets(call, alice_id, connected):
    repo = ok(call(alice_id, "connect_repo", project=connected.project, full_name="acme/widgets"))
    sync(repo["id"])
    return repo["id"]


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha1=abc", signed(b"other body")])
def test_a_bad_or_missing_signature_is_401_and_changes_nothing(connected, signature) -> None:
    response = deliver(
        "installation", {"action": "deleted", "installation": installation(connected)}, signature=signature
    )
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()
    assert GitHubConnection.unscoped.get(installation_id=connected.acme.id).status == ConnectionStatus.ACTIVE


def test_without_a_secret_nothing_is_accepted(connected, settings) -> None:
    settings.GITHUB_APP_WEBHOOK_SECRET = ""
    response = deliver("ping", {"zen": "hi"}, signature=signed(b'{"zen": "hi"}', ""))
    assert response.status_code == 401 and not WebhookDelivery.objects.exists()


def test_a_suspension_shows_and_a_replay_is_a_no_op(
    connected, widgets, eager, call, alice_id, django_capture_on_commit_callbacks
) -> None:
    payload = {"action": "suspend", "installation": installation(connected)}
    started = time.monotonic()
    first = deliver("installation", payload, delivery="d-1", capture=django_capture_on_commit_callbacks)
    assert first.status_code == 202 and time.monotonic() - started < 1
    assert WebhookDelivery.objects.get(pk="d-1").status == DeliveryStatus.HANDLED
    assert ok(call(alice_id, "list_repos"))["connection"]["status"] == "suspended"
    # GitHub redelivers it after the App was unsuspended meanwhile: nothing happens again.
    ours = GitHubConnection.unscoped.filter(installation_id=connected.acme.id)
    ours.update(status=ConnectionStatus.ACTIVE)
    again = deliver("installation", payload, delivery="d-1", capture=django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["message"] == "already handled"
    assert ours.get().status == ConnectionStatus.ACTIVE
    deleted = {"action": "deleted", "installation": installation(connected)}
    deliver("installation", deleted, delivery="d-2", capture=django_capture_on_commit_callbacks)
    assert ok(call(alice_id, "list_repos"))["connection"]["status"] == "deleted"


def test_a_failed_delivery_runs_again_when_redelivered(connected, widgets, eager, django_capture_on_commit_callbacks):
    response = Client().post(
        URL,
        data=b"not json",
        content_type="application/json",
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-9", "X-Hub-Signature-256": signed(b"not json")},
    )
    assert response.status_code == 202
    with pytest.raises(ValueError):
        handle_now("d-9")
    row = WebhookDelivery.objects.get(pk="d-9")
    assert row.status == DeliveryStatus.FAILED and row.attempts == 1 and row.payload
    push = {
        "ref": "refs/heads/main",
        "after": "f" * 40,
        "repository": {"full_name": "acme/widgets", "default_branch": "main"},
        "installation": installation(connected),
        "commits": [{"id": "f" * 40, "message": "Fix it\n\nbody", "author": {"username": "octo"}, "url": "u"}],
    }
    again = deliver("push", push, delivery="d-9", capture=django_capture_on_commit_callbacks)
    assert again.status_code == 202
    row = WebhookDelivery.objects.get(pk="d-9")
    assert row.status == DeliveryStatus.HANDLED and row.attempts == 2 and bytes(row.payload) == b""
    repo = Repository.unscoped.get(pk=widgets)
    assert {"name": "main", "sha": "f" * 40} in repo.branches
    assert repo.latest_commits[0]["message"] == "Fix it" and repo.latest_commits[0]["author"] == "octo"


def test_pull_requests_and_repositories_follow_their_events(
    connected, widgets, eager, django_capture_on_commit_callbacks
) -> None:
    pull = {
        "number": 7,
        "title": "Speed",
        "state": "open",
        "html_url": "https://github.example/acme/widgets/pull/7",
        "head": {"ref": "fast"},
        "base": {"ref": "main"},
        "user": {"login": "octo"},
        "draft": False,
    }
    base = {"repository": {"full_name": "acme/widgets"}, "installation": installation(connected)}
    deliver(
        "pull_request", {**base, "action": "opened", "pull_request": pull}, capture=django_capture_on_commit_callbacks
    )
    assert [p["number"] for p in Repository.unscoped.get(pk=widgets).open_pull_requests] == [7]
    closed = {**pull, "state": "closed"}
    deliver(
        "pull_request", {**base, "action": "closed", "pull_request": closed}, capture=django_capture_on_commit_callbacks
    )
    assert Repository.unscoped.get(pk=widgets).open_pull_requests == []
    removed = {**base, "action": "removed", "repositories_removed": [{"full_name": "acme/widgets"}]}
    deliver("installation_repositories", removed, capture=django_capture_on_commit_callbacks)
    repo = Repository.unscoped.get(pk=widgets)
    assert repo.sync_status == "error" and "removed from the GitHub installation" in repo.sync_error


def test_another_installation_cannot_touch_our_repositories(
    connected, widgets, eager, django_capture_on_commit_callbacks
):
    theirs = {"id": connected.globex.id, "account": {"login": "globex"}}
    push = {
        "ref": "refs/heads/evil",
        "after": "e" * 40,
        "repository": {"full_name": "acme/widgets"},
        "installation": theirs,
    }
    deliver("push", push, capture=django_capture_on_commit_callbacks)
    assert "evil" not in {b["name"] for b in Repository.unscoped.get(pk=widgets).branches}


@pytest.mark.django_db(transaction=True)
async def test_a_large_delivery_fits_and_a_larger_one_is_413(github, settings) -> None:
    """Through the real ASGI application: the webhook's own limit, not Django's 2.5 MB."""
    settings.GITHUB_WEBHOOK_MAX_BYTES = 4 * 1024 * 1024
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = ""
    body = json.dumps({"zen": "x" * (3 * 1024 * 1024)}).encode()
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "big-1",
        "X-Hub-Signature-256": signed(body),
        "content-length": str(len(body)),
    }
    response = await asgi_request("POST", URL, body=body, headers=headers)
    assert response.status == 202, response.body[:300]
    too_big = b" " * (4 * 1024 * 1024 + 1)
    headers = {**headers, "X-GitHub-Delivery": "big-2", "X-Hub-Signature-256": signed(too_big)}
    response = await asgi_request("POST", URL, body=too_big, headers={**headers, "content-length": str(len(too_big))})
    assert response.status == 413
