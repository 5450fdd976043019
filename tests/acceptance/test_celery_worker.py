"""The embedded default's Celery: a real worker on the filesystem broker (no server)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import celery_worker, wait_until
from tools.mcp.models import McpSession

pytestmark = [pytest.mark.acceptance]


def test_a_task_enqueued_by_one_process_runs_in_the_worker(transactional_db, alice_token, tmp_path) -> None:
    from accounts.models import MCPToken

    token = MCPToken.objects.get()
    stale = McpSession.objects.create(id="stale", token=token, protocol_version="2025-11-25")
    McpSession.objects.filter(pk=stale.pk).update(last_seen_at=timezone.now() - timedelta(days=2))
    McpSession.objects.create(id="fresh", token=token, protocol_version="2025-11-25")

    # Its own broker folders under var/celery; no REDIS_URL: the filesystem transport.
    with celery_worker({"ORCHESTRA_VAR_DIR": str(tmp_path), "REDIS_URL": ""}) as worker:
        producer = worker.run_python(
            "import django; django.setup()\n"
            "from tools.mcp.tasks import purge_stale_sessions\n"
            "purge_stale_sessions.delay()\n"
        )
        assert producer.returncode == 0, producer.stderr
        assert wait_until(lambda: not McpSession.objects.filter(pk="stale").exists()), "the worker did not run the task"
        assert McpSession.objects.filter(pk="fresh").exists()
    assert "purge_stale_sessions" in worker.output and "succeeded" in worker.output
