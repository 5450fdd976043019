"""Near-duplicate memories already stored: found (a dry run) or merged, for the
`merge_duplicates` command and the dashboard's Memories page. New memories are merged
as they are embedded (memory.tasks.merge_near_duplicate); these find the rest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from memory.models import EmbeddingStatus, Memory
from memory.tasks import merge_near_duplicate, near_duplicate_of
from orchestra.actor import SYSTEM, Actor

# One dashboard request checks at most this many memories (one nearest-neighbour query
# each), so a large organization's click never holds a worker for long: it runs again.
CHECKED_PER_REQUEST = 200


@dataclass(frozen=True)
class DuplicatePair:
    memory: Memory  # the newer one, archived when merged
    original: Memory  # the older one it says the same as


def candidate_rows(rows: QuerySet[Memory]) -> QuerySet[Memory]:
    """Memories that may be someone's near duplicate, oldest first: each is compared
    with the ones stored before it, so a chain of look-alikes ends in its oldest member."""
    return rows.filter(
        embedding_status=EmbeddingStatus.READY, duplicate_of__isnull=True, archived=False, keep_separate=False
    ).order_by("created_at", "pk")


def duplicate_pairs(
    rows: QuerySet[Memory], *, merge: bool, actor: Actor = SYSTEM, limit: int | None = None
) -> Iterator[DuplicatePair]:
    """The near duplicates among `rows` (at most `limit` of them checked): merged when
    `merge`, else only found."""
    ids = candidate_rows(rows).values_list("pk", flat=True)
    for pk in ids[:limit].iterator() if limit is not None else ids.iterator():
        row = Memory.unscoped.defer("search_vector").filter(pk=pk).first()
        if row is None:
            continue
        original = merge_near_duplicate(pk, actor=actor) if merge else near_duplicate_of(row)
        if original is not None:
            yield DuplicatePair(memory=row, original=original)
