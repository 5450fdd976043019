"""With REDIS_URL, embeddings are computed by a real Celery worker (Redis on 127.0.0.1:6379)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from memory.models import EmbeddingStatus, Memory
from tests.conftest import ROOT, database_url_for_subprocess

pytestmark = [pytest.mark.acceptance]

REDIS_URL = "redis://127.0.0.1:6379/10"


def test_a_worker_embeds_what_a_request_stored(transactional_db, alice_token, tmp_path) -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": REDIS_URL,
        "ORCHESTRA_VAR_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "orchestra", "worker", "--concurrency", "1", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        store = (
            "import django; django.setup()\n"
            "from accounts.auth import authenticate_token\n"
            "from tools.mcp.dispatch import call_tool\n"
            f"identity = authenticate_token({alice_token!r})\n"
            "outcome = call_tool('store_memory', {'content': 'Workers embed memories stored by requests.'}, identity)\n"
            "assert not outcome.is_error, outcome.structured\n"
            "print(outcome.structured['memory']['id'])\n"
        )
        stored = subprocess.run(
            [sys.executable, "-c", store], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert stored.returncode == 0, stored.stderr
        memory_id = stored.stdout.strip().splitlines()[-1]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if Memory.unscoped.filter(pk=memory_id, embedding_status=EmbeddingStatus.READY).exists():
                break
            time.sleep(0.3)
        assert Memory.unscoped.get(pk=memory_id).embedding_status == EmbeddingStatus.READY
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
    assert "memory.tasks.embed_memories" in output and "succeeded" in output
