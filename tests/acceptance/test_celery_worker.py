"""The embedded default's Celery: a real worker on the filesystem broker (no server)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import ROOT, database_url_for_subprocess
from tools.mcp.models import McpSession

pytestmark = [pytest.mark.acceptance]


def test_a_task_enqueued_by_one_process_runs_in_the_worker(transactional_db, alice_token, tmp_path) -> None:
    from accounts.models import MCPToken

    token = MCPToken.objects.get()
    stale = McpSession.objects.create(id="stale", token=token, protocol_version="2025-11-25")
    McpSession.objects.filter(pk=stale.pk).update(last_seen_at=timezone.now() - timedelta(days=2))
    McpSession.objects.create(id="fresh", token=token, protocol_version="2025-11-25")

    env = {
        **os.environ,
        "ORCHESTRA_VAR_DIR": str(tmp_path),  # its own broker folders under var/celery
        "DATABASE_URL": database_url_for_subprocess(),
    }
    env.pop("REDIS_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "orchestra", "worker", "--concurrency", "1", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        producer = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); "
                "from tools.mcp.tasks import purge_stale_sessions; purge_stale_sessions.delay()",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert producer.returncode == 0, producer.stderr
        deadline = time.monotonic() + 60
        while McpSession.objects.filter(pk="stale").exists() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not McpSession.objects.filter(pk="stale").exists(), "the worker did not run the task"
        assert McpSession.objects.filter(pk="fresh").exists()
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
    assert "purge_stale_sessions" in output and "succeeded" in output
