"""The sync task: idempotent, paginated, honours GitHub's rate limits, refreshed by beat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from githubint.models import Repository
from githubint.tasks import RetryLater, refresh_repositories, sync_now, sync_repository
from orchestra.celery import app
from tests.conftest import ok


@pytest.fixture
def eager(settings):
    # Celery reads its configuration through Django's settings (never set app.conf here:
    # an explicit value would outlive the test).
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert app.conf.task_always_eager is True


def connect(call, alice_id, connected) -> str:
    return ok(call(alice_id, "connect_repo", project=connected.project, full_name="acme/widgets"))["id"]


def test_sync_is_idempotent_and_follows_pagination(call, alice_id, connected) -> None:
    widgets = connected.github.repos["acme/widgets"]
    for n in range(150):
        widgets.branches[f"topic-{n:03}"] = widgets.branches["main"]
    repo = connect(call, alice_id, connected)
    assert sync_now(repo) == "ok"
    first = Repository.unscoped.values("branches", "languages", "latest_commits", "default_branch").get(pk=repo)
    assert len(first["branches"]) == 152  # two pages of 100
    assert sum(r == "GET /api/v3/repos/acme/widgets/branches" for r in connected.github.requests) == 2
    assert sync_now(repo) == "ok"
    assert Repository.unscoped.values("branches", "languages", "latest_commits", "default_branch").get(pk=repo) == first


def test_a_rate_limited_sync_waits_for_the_reset(call, alice_id, connected) -> None:
    repo = connect(call, alice_id, connected)
    connected.github.rate_limit_next = 1
    connected.github.rate_limit_reset_in = 600
    with pytest.raises(RetryLater) as wait:
        sync_now(repo)
    assert 590 <= wait.value.seconds <= 600
    row = Repository.unscoped.get(pk=repo)
    assert row.sync_status == "pending" and "rate limit" in row.sync_error
    # Once the limit resets, the same task succeeds.
    assert sync_now(repo) == "ok"
    assert Repository.unscoped.get(pk=repo).sync_error == ""


def test_a_short_rate_limit_is_waited_out_by_the_client(call, alice_id, connected) -> None:
    repo = connect(call, alice_id, connected)
    connected.github.rate_limit_next = 1
    connected.github.rate_limit_reset_in = 1
    assert sync_now(repo) == "ok"


def test_a_repository_removed_from_the_installation_is_an_error_with_the_fix(call, alice_id, connected) -> None:
    repo = connect(call, alice_id, connected)
    connected.github.installations[connected.acme.id].repositories.remove("acme/widgets")
    assert sync_now(repo) == "error"
    error = Repository.unscoped.get(pk=repo).sync_error
    assert "cannot see acme/widgets" in error and "add it to the installation" in error


def test_a_missing_repository_row_is_a_no_op(db) -> None:
    assert sync_now("00000000-0000-4000-8000-000000000000") == "missing"


def test_beat_refreshes_what_is_due(call, alice_id, connected, eager) -> None:
    assert "github-refresh-repositories" in django_settings.CELERY_BEAT_SCHEDULE
    repo = connect(call, alice_id, connected)
    assert refresh_repositories.delay().get() == 1  # never synced: due
    assert Repository.unscoped.get(pk=repo).sync_status == "ok"
    assert refresh_repositories.delay().get() == 0  # just synced
    Repository.unscoped.filter(pk=repo).update(last_synced_at=timezone.now() - timedelta(days=1))
    assert refresh_repositories.delay().get() == 1
    assert sync_repository.delay(repo).get() == "ok"


def test_a_rate_limit_on_the_installation_token_is_a_rate_limit_too(call, alice_id, connected) -> None:
    connected.github.rate_limit_next = 1
    connected.github.rate_limit_only = "/app/installations/"
    outcome = call(alice_id, "connect_repo", project=connected.project, full_name="acme/widgets")
    assert outcome.is_error and outcome.structured["error"]["code"] == "rate_limited", outcome.structured
