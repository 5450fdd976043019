"""Celery tasks for embeddings. They take ids (and the label of the embedded model the
ids belong to: memories unless said otherwise), are idempotent and acks_late."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from pgvector.django import CosineDistance

from memory.embeddings import EmbeddingError, get_provider
from memory.models import EmbeddingStatus, Memory, embedded_model, embedded_models
from orchestra.actor import SYSTEM, Actor
from orchestra.tenancy import tenant_scope
from tools.activity.services import activity_record

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
STALE_AFTER = timedelta(minutes=5)
MEMORY = "memory.Memory"
REQUEUE_BATCH = 1000
# A task embeds its own rows plus other pending ones up to this many (embed_now).
FILL_TO = 64
# At or above this cosine similarity two memories of a scope say the same thing
# (all-MiniLM-L6-v2: "failed because the certificate expired" and "failed since the
# certificate had expired" 0.985; the same sentence with another codename 0.85, with
# another number 0.96, which is why the numbers must match too: same_numbers).
NEAR_DUPLICATE = 0.97
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def same_numbers(a: str, b: str) -> bool:
    """Whether two texts hold the same numbers: "2 MB" and "5 MB" are different facts
    however close their meaning."""
    return sorted(NUMBER.findall(a)) == sorted(NUMBER.findall(b))


@worker_process_init.connect
def _preload_model(**kwargs: Any) -> None:
    """Load the embedding model when a worker process starts, not on its first task:
    the first memory stored after a worker (re)starts is then findable by meaning as
    soon as the others (bench/bench_freshness.py)."""
    try:
        get_provider()
    except Exception:
        # The task reports the error when it runs (and retries); starting must not fail.
        logger.exception("could not preload the embedding model")


def embed_now(ids: list[str], label: str = MEMORY, *, fill_to: int = 0, merge: bool = False) -> int:
    """Embed the rows that need it; returns how many were embedded.

    With `fill_to`, other rows of the model still pending join the batch up to that
    many: under load the first task embeds the rows queued behind it in the same model
    call (one call for 64 rows costs about as much as eight single ones), and their own
    tasks find nothing left to do."""
    model = embedded_model(label)
    provider = get_provider()
    needed = ~Q(embedding_status=EmbeddingStatus.READY) | ~Q(embedding_model=provider.model_id)
    fields = ("pk", "content_hash", *model.EMBEDDING_FIELDS)
    rows = list(model.unscoped.filter(pk__in=ids).filter(needed).only(*fields))
    if fill_to > len(rows):
        # The oldest pending rows first (the partial index on pending rows serves this);
        # rows that failed stay with the retries and the periodic re-enqueue.
        waiting: QuerySet[Any] = model.unscoped.filter(embedding_status=EmbeddingStatus.PENDING)
        rows += list(
            waiting.exclude(pk__in=[row.pk for row in rows]).order_by("created_at").only(*fields)[: fill_to - len(rows)]
        )
    if not rows:
        return 0
    vectors = provider.embed([row.embedding_text() for row in rows])
    for row, vector in zip(rows, vectors, strict=True):
        # Only if the text is still the one we embedded.
        model.unscoped.filter(pk=row.pk, content_hash=row.content_hash).update(
            embedding=vector.tolist(),
            embedding_model=provider.model_id,
            embedding_status=EmbeddingStatus.READY,
            embedding_error="",
        )
    if merge and model is Memory:
        for row in rows:
            merge_near_duplicate(row.pk)
    return len(rows)


def near_duplicate_of(row: Memory) -> Memory | None:
    """The closest older memory of `row`'s scope and owner (not merged, not archived)
    whose cosine similarity is at least NEAR_DUPLICATE and that holds the same numbers;
    None for a memory stored with keep_both, or one already merged or archived."""
    if row.keep_separate or row.archived or row.duplicate_of_id is not None or row.embedding is None:
        return None
    with transaction.atomic():  # SET LOCAL lasts for this transaction only
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        # The same owner exactly (an organization-scoped memory has none: NULL matches NULL).
        same_scope: dict[str, Any] = {
            "organization_id": row.organization_id,
            "scope": row.scope,
            "agent_id": row.agent_id,
            "project_id": row.project_id,
            "session_id": row.session_id,
        }
        # The nearest few of the scope, then the similarity bar: as a filter inside the
        # query, the bar would keep the HNSW scan going (iterative scans look for rows
        # that pass every condition) through tens of thousands of rows whenever the
        # memory is new, which nearly every memory is.
        nearest = list(
            Memory.unscoped.filter(
                **same_scope,
                embedding_status=EmbeddingStatus.READY,
                embedding_model=row.embedding_model,
                duplicate_of__isnull=True,
                archived=False,
                created_at__lte=row.created_at,
            )
            .exclude(pk=row.pk)
            .defer("search_vector", "embedding")
            .annotate(distance=CosineDistance("embedding", row.embedding))
            .order_by("distance")[:5]
        )
    # Sorted again: the relaxed_order scan may hand them back slightly out of order.
    close = sorted((other for other in nearest if other.distance <= 1.0 - NEAR_DUPLICATE), key=lambda o: o.distance)
    return next((other for other in close if same_numbers(other.content, row.content)), None)


def merge_near_duplicate(memory_id: Any, *, actor: Actor = SYSTEM) -> Memory | None:
    """Merge a just-embedded memory into its near duplicate (near_duplicate_of), if it
    has one: it is archived with `duplicate_of` set, the older one gets its tags, and a
    memory.merged activity row (naming `actor`) says so. Returns the memory it was
    merged into."""
    with transaction.atomic():
        row = (
            Memory.unscoped.select_for_update()
            .filter(pk=memory_id, embedding_status=EmbeddingStatus.READY)
            .defer("search_vector")
            .first()
        )
        closest = near_duplicate_of(row) if row is not None else None
        if row is None or closest is None:
            return None
        twin = Memory.unscoped.select_for_update().defer("search_vector", "embedding").get(pk=closest.pk)
        if twin.archived or twin.duplicate_of_id is not None:
            return None  # merged meanwhile: the next run finds the survivor
        twin.tags = sorted(set(twin.tags) | set(row.tags))
        twin.save(update_fields=["tags", "updated_at"])
        row.duplicate_of = twin
        row.archived = True
        row.save(update_fields=["duplicate_of", "archived", "updated_at"])
        with tenant_scope(row.organization_id):
            activity_record(
                actor=actor,
                type="memory.merged",
                target=twin,
                project_id=twin.project_id,
                session_id=twin.session_id,
                description=row.content[:120],
                metadata={"duplicate": str(row.pk), "into": str(twin.pk)},
            )
        return twin


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, ignore_result=True)
def embed_memories(self: Any, ids: list[str], label: str = MEMORY) -> int:
    """Embed rows of one embedded model (the name predates decisions: any model's rows)."""
    try:
        return embed_now(ids, label, fill_to=FILL_TO, merge=True)
    except EmbeddingError as exc:
        if self.request.retries >= MAX_RETRIES:
            embedded_model(label).unscoped.filter(pk__in=ids).exclude(embedding_status=EmbeddingStatus.READY).update(
                embedding_status=EmbeddingStatus.FAILED, embedding_error=str(exc)[:500]
            )
            return 0
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_pending() -> int:
    """Rows of every embedded model left pending too long (a lost task, a crashed
    process) are queued again."""
    from memory.embedding_jobs import schedule_embedding

    cutoff = timezone.now() - STALE_AFTER
    total = 0
    for model in embedded_models():
        # Every embedded model has created_at, though their abstract base does not say so.
        rows: QuerySet[Any] = model.unscoped.all()
        ids = list(
            rows.filter(embedding_status=EmbeddingStatus.PENDING, created_at__lt=cutoff).values_list("pk", flat=True)[
                :REQUEUE_BATCH
            ]
        )
        if ids:
            schedule_embedding(ids, model._meta.label)
        total += len(ids)
    return total
