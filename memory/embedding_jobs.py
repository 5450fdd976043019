"""Computing embeddings after commit: in-process in the embedded default, by a Celery
worker when REDIS_URL is set, for every embedded model (memories, decisions). Either
way idempotent: a row already embedded for the same text and model is skipped."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections

from orchestra import outages

logger = logging.getLogger(__name__)

BATCH = 256
# Rows per Celery task (Redis mode): one request's worth for the OpenAI provider.
TASK_BATCH = 64

# One background thread: embedding is CPU-bound (onnxruntime uses two threads itself).
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embeddings")
# Rows waiting for the in-process thread, by model label. Stores that arrive while it
# works are embedded together in its next batch, instead of one model call per row.
_waiting: dict[str, set[str]] = {}
_waiting_lock = threading.Lock()


def schedule_embedding(ids: list[Any], label: str = "memory.Memory") -> None:
    """Called on commit with the ids of rows of one embedded model (its label, e.g.
    "decisions.Decision"). Never blocks the request that stored the rows."""
    from memory.tasks import embed_memories

    ids = [str(i) for i in ids]
    if settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        # Small tasks: each must finish well within its time limit (a few seconds of
        # the local model or one request to an OpenAI-compatible endpoint).
        for start in range(0, len(ids), TASK_BATCH):
            _enqueue(embed_memories, ids[start : start + TASK_BATCH], label)
        return
    with _waiting_lock:
        idle = not _waiting
        _waiting.setdefault(label, set()).update(ids)
    if idle:
        _executor.submit(_drain)


def _enqueue(task: Any, ids: list[str], label: str) -> None:
    """Queue the task on the broker. Never fails the request whose rows were just
    committed: while Redis is away the rows stay pending, and the periodic re-enqueue
    (memory.tasks.requeue_stale_pending) queues them once it is back."""
    redis = outages.outage(outages.REDIS)
    if settings.REDIS_URL and not redis.should_try():
        return
    try:
        task.delay(ids, label)
    except Exception as exc:
        if outages.report(exc) is None:
            raise
        return
    if settings.REDIS_URL:
        redis.recovered()


def _drain() -> None:
    from memory.tasks import embed_now

    with _waiting_lock:
        batches = {label: list(ids) for label, ids in _waiting.items()}
        _waiting.clear()
    try:
        for label, ids in batches.items():
            try:
                for start in range(0, len(ids), BATCH):
                    embed_now(ids[start : start + BATCH], label, merge=True)
            except Exception:
                # Left pending: the periodic re-enqueue retries them.
                logger.exception("embedding %s failed in-process; will retry later", label)
    finally:
        connections.close_all()


def wait_for_in_process_jobs() -> None:
    """Block until queued in-process jobs are done (tests, benchmarks)."""
    _executor.submit(lambda: None).result()
