"""Hybrid search: vector similarity (pgvector, HNSW) and full-text rank fused into one
ordering with reciprocal rank fusion. Filters are applied inside both queries.

It serves every embedded model (memory.models.Embedded: memories, decisions): the rows
given say which model, which organization and which filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Subquery
from pgvector.django import CosineDistance

from memory.embeddings import get_provider
from memory.keywords import KeywordPlan, keyword_plan
from memory.models import OWNER_FIELD, Embedded, EmbeddingStatus, Scope

EF_SEARCH = 100  # HNSW candidate list: recall ~0.96 on realistic vectors (STACK-FACTS)
# Columns search results never need: a vector is 384 floats to parse per row.
HEAVY = ("embedding", "search_vector")
# Each half brings at least this many candidates (and four times the limit).
CANDIDATES = 40

# The relevance (docs/decisions/0017-ranking.md), measured on bench/bench_ranking.py.
# Meaning: all-MiniLM-L6-v2 puts unrelated sentences at cosine 0.0-0.2 and a question
# and the note that answers it at 0.5-0.8; that range is mapped onto 0-1.
COSINE_NONE = 0.2  # at or below: no evidence by meaning
COSINE_FULL = 0.75  # at or above: as sure as meaning gets
# Words: the rarity-weighted share of the query's words a row holds (its coverage,
# memory.keywords weighs each word by its IDF cubed); a row holding them all (a
# codename, an error string) is this sure by words alone.
KEYWORD_FULL = 0.9
# A row that a newer one replaced (a superseded memory or decision) keeps this share of
# its relevance: the current one comes first when both match about as well.
SUPERSEDED_FACTOR = 0.8


E = TypeVar("E", bound=Embedded)


@dataclass
class Hit(Generic[E]):
    """One row found, with its relevance `score` (0-1, comparable across queries) and
    the evidence behind it."""

    row: E
    score: float = 0.0
    similarity: float | None = None  # cosine to the query; None: no current embedding yet
    coverage: float = 0.0  # rarity-weighted share of the query's words the row holds
    signals: list[str] = field(default_factory=list)
    superseded: bool = False

    @property
    def pending(self) -> bool:
        """No current embedding yet: found, and ranked, by its words alone."""
        return self.similarity is None


def meaning_evidence(similarity: float | None) -> float:
    """The cosine similarity mapped onto 0-1 (COSINE_NONE -> 0, COSINE_FULL -> 1)."""
    if similarity is None:
        return 0.0
    return min(1.0, max(0.0, (similarity - COSINE_NONE) / (COSINE_FULL - COSINE_NONE)))


def word_evidence(coverage: float) -> float:
    return KEYWORD_FULL * min(1.0, max(0.0, coverage))


def relevance(similarity: float | None, coverage: float) -> float:
    """0-1: how likely the row is what the query asks for. A noisy-OR of the two kinds
    of evidence: either alone can make a row relevant, both make it more so, and
    neither half can pull a row below what the other says of it (so the fusion is never
    worse than its better half on the rows it ranks)."""
    return 1.0 - (1.0 - meaning_evidence(similarity)) * (1.0 - word_evidence(coverage))


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


def vector_candidates(
    rows: QuerySet[E], vector: list[float], candidates: int, model_id: str, plan: KeywordPlan | None = None
) -> list[E]:
    """The `candidates` nearest rows with a current embedding (HNSW), closest first;
    with a keyword plan each carries its `rank` (the weight of the query words it holds)."""
    with transaction.atomic():  # SET LOCAL lasts for this transaction only
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}")
            # pgvector 0.8 iterative scans: a small organization in a big table still
            # gets its full top-k after the tenant filter.
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        found: QuerySet[Any] = rows.filter(embedding_status=EmbeddingStatus.READY, embedding_model=model_id)
        found = found.defer(*HEAVY)
        found = found.annotate(distance=CosineDistance("embedding", vector))
        if plan is not None:
            found = found.annotate(rank=plan.rank())
        return list(found.order_by("distance")[:candidates])


def keyword_candidates(
    rows: QuerySet[E], query: str, vector: list[float], candidates: int, plan: KeywordPlan | None = None
) -> list[E]:
    """The `candidates` best full-text matches (memory.keywords), best first; each
    carries its `rank` and its cosine distance to `vector` (NULL while it has no
    embedding)."""
    plan = plan or keyword_plan(query, rows.model._meta.db_table, rows)
    if plan is None:
        return []
    order = ("-rank", "-created_at")
    # The best matches are chosen first, then only they get their cosine distance: in
    # one query, PostgreSQL computed the distance (a 384-float vector read and compared)
    # for every matching row before sorting, which for a common word in a large
    # organization is thousands of rows (three times the cost of the ranking itself).
    best = rows.filter(search_vector=plan.match).annotate(rank=plan.rank()).order_by(*order).values("pk")[:candidates]
    return list(
        rows.filter(pk__in=Subquery(best))
        .defer(*HEAVY)
        .annotate(rank=plan.rank(), distance=CosineDistance("embedding", vector))
        .order_by(*order)
    )


def candidates(rows: QuerySet[E], query: str, *, limit: int) -> list[Hit[E]]:
    """Every row either half brings, with its evidence (not yet scored)."""
    provider = get_provider()
    vector = provider.embed([query])[0].tolist()
    count = max(limit * 4, CANDIDATES)
    plan = keyword_plan(query, rows.model._meta.db_table, rows)
    total = plan.total if plan is not None else 0.0
    hits: dict[Any, Hit[E]] = {}

    def coverage(row: Any) -> float:
        return float(row.rank) / total if total else 0.0

    row: Any
    for row in vector_candidates(rows, vector, count, provider.model_id, plan):
        hit = hits.setdefault(row.pk, Hit(row, similarity=1.0 - float(row.distance), coverage=coverage(row)))
        hit.signals.append("vector")
        if hit.coverage > 0:
            hit.signals.append("keyword")
    if plan is not None:
        for row in keyword_candidates(rows, query, vector, count, plan):
            current = row.embedding_model == provider.model_id and row.distance is not None
            hit = hits.setdefault(
                row.pk, Hit(row, similarity=1.0 - float(row.distance) if current else None, coverage=coverage(row))
            )
            if "keyword" not in hit.signals:
                hit.signals.append("keyword")
    return list(hits.values())


def _order(hit: Hit[Any]) -> tuple[float, float, Any]:
    # Every embedded model has created_at, though their abstract base does not say so.
    return (hit.score, hit.similarity or 0.0, hit.row.created_at)


def search(
    rows: QuerySet[E], query: str, *, limit: int, min_similarity: float = 0.0, min_score: float = 0.0
) -> list[Hit[E]]:
    """The `limit` most relevant rows, most relevant first (score, then cosine, then the
    newest). Every row either half found is ranked: there is no hidden cut-off, so a
    search answers `limit` rows whenever the scope holds that many candidates; the
    weak ones say so by their score, which `min_score` filters on. A superseded row's
    score is scaled by SUPERSEDED_FACTOR. `min_similarity`
    applies to rows with an embedding; one still pending is judged by its words alone."""
    hits = candidates(rows, query, limit=limit)
    for hit in hits:
        hit.superseded = bool(getattr(hit.row, "is_superseded", False))
        hit.score = relevance(hit.similarity, hit.coverage) * (SUPERSEDED_FACTOR if hit.superseded else 1.0)
    # A cosine may be negative: min_similarity 0 (the default) keeps every row.
    kept = [
        h
        for h in hits
        if h.score >= min_score and (min_similarity <= 0 or h.similarity is None or h.similarity >= min_similarity)
    ]
    kept.sort(key=_order, reverse=True)
    return kept[:limit]
