"""Hybrid search: vector similarity (pgvector, HNSW) and full-text rank fused into one
ordering with reciprocal rank fusion. Filters are applied inside both queries.

It serves every embedded model (memory.models.Embedded: memories, decisions): the rows
given say which model, which organization and which filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from pgvector.django import CosineDistance

from memory.embeddings import get_provider
from memory.keywords import keyword_plan
from memory.models import OWNER_FIELD, Embedded, EmbeddingStatus, Scope

RRF_K = 60  # the usual constant: damps the weight of the very top ranks
EF_SEARCH = 100  # HNSW candidate list: recall ~0.96 on realistic vectors (STACK-FACTS)
# Below this cosine similarity a vector "match" is noise (unrelated sentences score
# 0.0-0.15 with MiniLM): it must not outrank a real keyword match.
VECTOR_FLOOR = 0.2
# Columns search results never need: a vector is 384 floats to parse per row.
HEAVY = ("embedding", "search_vector")


E = TypeVar("E", bound=Embedded)


@dataclass
class Hit(Generic[E]):
    row: E
    score: float
    similarity: float | None
    signals: list[str] = field(default_factory=list)


def scope_filter(*, scope: str | None, agent: Any = None, project: Any = None, session: Any = None) -> Q:
    """What a search covers. Naming an agent without a scope applies the agent's memory
    scope: private = its own entries plus project and organization ones; project = its
    project's and the organization's; organization = everything."""
    if scope is not None:
        condition = Q(scope=scope)
        field = OWNER_FIELD.get(scope)
        owner = {"agent": agent, "project": project, "session": session}.get(field or "")
        if field is not None and owner is not None:
            condition &= Q(**{field: owner})
        return condition
    condition = Q()
    if agent is not None:
        project = project or agent.project
        if agent.memory_scope == "private":
            condition = Q(scope=Scope.AGENT, agent=agent) | Q(scope=Scope.ORGANIZATION)
            if project is not None:
                condition |= Q(scope=Scope.PROJECT, project=project)
            else:
                condition |= Q(scope=Scope.PROJECT)
        elif agent.memory_scope == "project" and project is not None:
            condition = Q(scope=Scope.PROJECT, project=project) | Q(scope=Scope.ORGANIZATION)
        return condition
    if project is not None:
        condition &= Q(project=project) | Q(scope=Scope.ORGANIZATION)
    if session is not None:
        condition &= Q(session=session)
    return condition


def _distance(row: Any) -> float | None:
    """The cosine distance annotated on a row (None while it has no embedding)."""
    return None if row.distance is None else float(row.distance)


def vector_candidates(rows: QuerySet[E], vector: list[float], candidates: int, model_id: str) -> list[E]:
    """The `candidates` nearest rows with a current embedding (HNSW), closest first."""
    with transaction.atomic():  # SET LOCAL lasts for this transaction only
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}")
            # pgvector 0.8 iterative scans: a small organization in a big table still
            # gets its full top-k after the tenant filter.
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        return list(
            rows.filter(embedding_status=EmbeddingStatus.READY, embedding_model=model_id)
            .defer(*HEAVY)
            .annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")[:candidates]
        )


def keyword_candidates(rows: QuerySet[E], query: str, vector: list[float], candidates: int) -> list[E]:
    """The `candidates` best full-text matches (memory.keywords), best first; each
    carries its cosine distance to `vector` (NULL while it has no embedding)."""
    plan = keyword_plan(query, rows.model._meta.db_table)
    if plan is None:
        return []
    return list(
        rows.filter(search_vector=plan.match)
        .defer(*HEAVY)
        .annotate(rank=plan.rank(), distance=CosineDistance("embedding", vector))
        .order_by("-rank", "-created_at")[:candidates]
    )


def search(rows: QuerySet[E], query: str, *, limit: int, min_similarity: float = 0.0) -> list[Hit[E]]:
    provider = get_provider()
    vector = provider.embed([query])[0].tolist()
    candidates = max(limit * 4, 40)
    by_vector = vector_candidates(rows, vector, candidates, provider.model_id)
    by_words = keyword_candidates(rows, query, vector, candidates)
    hits: dict[Any, Hit[E]] = {}
    for position, row in enumerate(by_vector, start=1):
        distance = _distance(row)
        assert distance is not None  # only rows with a current embedding come this way
        similarity = 1.0 - distance
        if similarity < VECTOR_FLOOR:
            break  # ordered by distance: the rest are further away
        hit = hits.setdefault(row.pk, Hit(row, 0.0, similarity))
        hit.score += 1.0 / (RRF_K + position)
        hit.signals.append("vector")
    for position, found in enumerate(by_words, start=1):
        distance = _distance(found) if found.embedding_model == provider.model_id else None
        hit = hits.setdefault(found.pk, Hit(found, 0.0, None if distance is None else 1.0 - distance))
        hit.score += 1.0 / (RRF_K + position)
        hit.signals.append("keyword")
    # Ties (same fused score) go to entries both signals found, then to the closer one.
    ranked = sorted(hits.values(), key=lambda h: (h.score, len(h.signals), h.similarity or 0.0), reverse=True)
    # min_similarity applies to entries with an embedding; one still pending is judged
    # by its words alone.
    kept = [h for h in ranked if h.similarity is None or h.similarity >= min_similarity]
    return kept[:limit]
