"""With REDIS_URL, embeddings are computed by a real Celery worker (Redis on 127.0.0.1:6379)."""

from __future__ import annotations

import pytest
import redis

from memory.models import EmbeddingStatus, Memory
from tests.conftest import celery_worker, wait_until

pytestmark = [pytest.mark.acceptance]

REDIS_URL = "redis://127.0.0.1:6379/10"


def test_a_worker_embeds_what_a_request_stored(transactional_db, alice_token, tmp_path) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    with celery_worker({"REDIS_URL": REDIS_URL, "ORCHESTRA_VAR_DIR": str(tmp_path)}) as worker:
        stored = worker.run_python(
            "import django; django.setup()\n"
            "from accounts.auth import authenticate_token\n"
            "from tools.mcp.dispatch import call_tool\n"
            f"identity = authenticate_token({alice_token!r})\n"
            "outcome = call_tool('store_memory', {'content': 'Workers embed memories stored by requests.'}, identity)\n"
            "assert not outcome.is_error, outcome.structured\n"
            "print(outcome.structured['memory']['id'])\n"
        )
        assert stored.returncode == 0, stored.stderr
        memory_id = stored.stdout.strip().splitlines()[-1]
        assert wait_until(lambda: Memory.unscoped.filter(pk=memory_id, embedding_status=EmbeddingStatus.READY).exists())
    assert "memory.tasks.embed_memories" in worker.output and "succeeded" in worker.output
