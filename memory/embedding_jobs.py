"""Computing embeddings after commit: in-process in the embedded default, by a Celery
worker when REDIS_URL is set. Either way idempotent: an entry already embedded for the
same content and model is skipped."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# One background thread: embedding is CPU-bound (onnxruntime uses two threads itself).
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embeddings")


def schedule_embedding(ids: list[Any]) -> None:
    """Called on commit. Never blocks the request that stored the rows."""
    from memory.tasks import embed_memories

    ids = [str(i) for i in ids]
    if settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        embed_memories.delay(ids)
    else:
        _executor.submit(_run_in_process, ids)


def _run_in_process(ids: list[str]) -> None:
    from memory.tasks import embed_now

    try:
        embed_now(ids)
    except Exception:
        # Left pending: the periodic re-enqueue retries it.
        logger.exception("embedding failed in-process; will retry later")
    finally:
        connections.close_all()


def wait_for_in_process_jobs() -> None:
    """Block until queued in-process jobs are done (tests, benchmarks)."""
    _executor.submit(lambda: None).result()
