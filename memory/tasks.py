"""Celery tasks for embeddings. They take ids, are idempotent and acks_late."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from memory.embeddings import EmbeddingError, get_provider
from memory.models import EmbeddingStatus, Memory

MAX_RETRIES = 5
STALE_AFTER = timedelta(minutes=5)


def embed_now(ids: list[str]) -> int:
    """Embed the rows that need it; returns how many were embedded."""
    provider = get_provider()
    rows = list(
        Memory.unscoped.filter(pk__in=ids)
        .filter(~Q(embedding_status=EmbeddingStatus.READY) | ~Q(embedding_model=provider.model_id))
        .only("id", "content", "content_hash")
    )
    if not rows:
        return 0
    vectors = provider.embed([row.content for row in rows])
    for row, vector in zip(rows, vectors, strict=True):
        # Only if the content is still the one we embedded.
        Memory.unscoped.filter(pk=row.pk, content_hash=row.content_hash).update(
            embedding=vector.tolist(),
            embedding_model=provider.model_id,
            embedding_status=EmbeddingStatus.READY,
            embedding_error="",
        )
    return len(rows)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, ignore_result=True)
def embed_memories(self: Any, ids: list[str]) -> int:
    try:
        return embed_now(ids)
    except EmbeddingError as exc:
        if self.request.retries >= MAX_RETRIES:
            Memory.unscoped.filter(pk__in=ids).exclude(embedding_status=EmbeddingStatus.READY).update(
                embedding_status=EmbeddingStatus.FAILED, embedding_error=str(exc)[:500]
            )
            return 0
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_pending() -> int:
    """Entries left pending too long (a lost task, a crashed process) are queued again."""
    from memory.embedding_jobs import schedule_embedding

    cutoff = timezone.now() - STALE_AFTER
    ids = list(
        Memory.unscoped.filter(embedding_status=EmbeddingStatus.PENDING, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:1000]
    )
    if ids:
        schedule_embedding(ids)
    return len(ids)
