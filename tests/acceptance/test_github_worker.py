"""GitHub syncs run in a real Celery worker (Redis on 127.0.0.1:6379), which reaches the
GitHub stand-in through the real githubkit client, and waits out a rate limit."""

from __future__ import annotations

import time

import pytest
import redis

from githubint.models import Repository
from githubint.services import connection_link_installation
from orchestra.actor import Actor
from tests.conftest import celery_worker, wait_until
from tests.github_fixtures import github_env

pytestmark = [pytest.mark.acceptance]

REDIS_URL = "redis://127.0.0.1:6379/11"


def test_a_worker_syncs_what_connect_repo_enqueued(transactional_db, github, alice, acme, alice_token, tmp_path):
    github.add_repo("acme/widgets", branches=("main", "feature"))
    installation = github.add_installation("acme", ["acme/widgets"])
    connection_link_installation(
        actor=Actor(user_id=alice.pk),
        organization=acme,
        installation_id=installation.id,
        account_login="acme",
        account_type="Organization",
    )
    # The first sync meets a rate limit that resets in 7 s: longer than a request may
    # wait, so the task retries itself after the reset.
    github.rate_limit_next = 1
    github.rate_limit_reset_in = 7
    github.rate_limit_only = "/repos/acme/widgets/languages"  # met by the sync, not by connect_repo
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {**github_env(github), "REDIS_URL": REDIS_URL, "ORCHESTRA_VAR_DIR": str(tmp_path)}
    with celery_worker(env) as worker:
        started = time.monotonic()
        produced = worker.run_python(
            "import django; django.setup()\n"
            "from accounts.auth import authenticate_token\n"
            "from tools.mcp.dispatch import call_tool\n"
            f"identity = authenticate_token({alice_token!r})\n"
            "project = call_tool('create_project', {'name': 'Widgets'}, identity).structured['slug']\n"
            "out = call_tool('connect_repo', {'project': project, 'full_name': 'acme/widgets'}, identity)\n"
            "assert not out.is_error, out.structured\n"
            "print(out.structured['id'])\n"
        )
        assert produced.returncode == 0, produced.stderr
        repo_id = produced.stdout.strip().splitlines()[-1]
        assert wait_until(lambda: "rate limit" in Repository.unscoped.get(pk=repo_id).sync_error, 30)
        assert wait_until(lambda: Repository.unscoped.get(pk=repo_id).sync_status == "ok", 60), Repository.unscoped.get(
            pk=repo_id
        ).sync_error
        assert time.monotonic() - started >= 6  # it waited for the reset
    row = Repository.unscoped.get(pk=repo_id)
    assert row.default_branch == "main" and {b["name"] for b in row.branches} == {"main", "feature"}
    assert row.sync_error == "" and row.last_synced_at is not None
    assert "githubint.tasks.sync_repository" in worker.output and "retry" in worker.output.lower()
