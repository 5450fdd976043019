"""Hybrid search: vector similarity (pgvector, HNSW) and full-text rank, each row's
evidence from both fused into one relevance score (docs/decisions/0017-ranking.md).
Filters are applied inside both queries.

It serves every embedded model (memory.models.Embedded: memories, decisions): the rows
given say which model, which organization and which filters."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import numpy as np
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Subquery, Value
from pgvector.django import CosineDistance

from memory.embeddings import get_provider
from memory.keywords import LEXEMES_SQL, QUERY_CHARS, KeywordPlan, keyword_plan, lexeme_stats
from memory.models import OWNER_FIELD, Embedded, EmbeddingStatus, Scope

# HNSW's candidate list (ef_search) grows with the table: recall@10 against exact search
# falls as the graph grows, and each step costs time (bench_memory, the vector half at a
# million rows: 19 ms at 100, 31 at 200, 50 at 350, 56 at 400). Recall measured: 0.963
# at 100,000 rows with 100; at a million 0.934 with 100, 0.944 with 200, 0.952 with 350.
EF_SEARCH = 100  # up to EF_SEARCH_ROWS rows in the table
EF_SEARCH_ROWS = 100_000
EF_SEARCH_PER_DECADE = 250  # added for each tenfold of rows beyond EF_SEARCH_ROWS
EF_SEARCH_MAX = 400
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


@dataclass
class Candidate:
    """A row either half of the search brought, with its evidence but not its columns:
    only the rows a search answers with are loaded (building a model instance costs
    more Python than the database spends finding it)."""

    pk: Any
    created_at: datetime
    similarity: float | None  # cosine to the query; None: no current embedding yet
    coverage: float  # rarity-weighted share of the query's words the row holds
    superseded: bool
    signals: list[str] = field(default_factory=list)
    score: float = 0.0


# The columns a candidate is read from, in the order both halves select them.
CANDIDATE_COLUMNS = ("pk", "created_at", "embedding_model", "distance", "rank", "superseded", "half")


def ef_search(table_rows: float) -> int:
    """The HNSW candidate list for a table of `table_rows` rows (as ANALYZE last saw it):
    EF_SEARCH up to EF_SEARCH_ROWS, then EF_SEARCH_PER_DECADE more for each tenfold (350
    at a million), at most EF_SEARCH_MAX."""
    if table_rows <= EF_SEARCH_ROWS:
        return EF_SEARCH
    grown = EF_SEARCH + EF_SEARCH_PER_DECADE * math.log10(table_rows / EF_SEARCH_ROWS)
    return min(EF_SEARCH_MAX, round(grown))


def _prepare(rows: QuerySet[Any], query: str) -> list[str]:
    """This transaction's HNSW settings and the query's lexemes, in one round trip.

    ef_search: the candidate list for the size of `rows`' table (ef_search(); the row
    count comes with memory.keywords' statistics, kept for ten minutes); iterative scans
    (pgvector 0.8): a small organization in a big table still gets its full top-k after
    the tenant filter. set_config(..., true) is SET LOCAL: it ends with the transaction
    the caller holds."""
    table_rows = lexeme_stats(rows.model._meta.db_table).rows
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), "
            f"set_config('hnsw.iterative_scan', 'relaxed_order', true), {LEXEMES_SQL}",
            [str(ef_search(table_rows)), query[:QUERY_CHARS]],
        )
        row = cursor.fetchone()
    return list(row[2]) if row and row[2] else []


def vector_literal(vector: Any) -> Value:
    """The query vector as pgvector's text form, made once for every expression that
    compares with it (pgvector converts a list again for each, and more slowly): nine
    significant digits hold a float32 exactly."""
    values = np.asarray(vector, dtype=np.float32).tolist()
    return Value("[" + ("%.9g," * len(values) % tuple(values))[:-1] + "]")


def _candidate_rows(rows: QuerySet[E], query_vector: Value, plan: KeywordPlan | None, half: str) -> QuerySet[Any]:
    """`rows` as candidate tuples (CANDIDATE_COLUMNS)."""
    return rows.annotate(
        distance=CosineDistance("embedding", query_vector),
        rank=plan.rank() if plan is not None else Value(0.0),
        superseded=ExpressionWrapper(rows.model.SUPERSEDED, output_field=BooleanField()),
        half=Value(half),
    ).values_list(*CANDIDATE_COLUMNS)


def _vector_half(
    rows: QuerySet[E], query_vector: Value, count: int, model_id: str, plan: KeywordPlan | None
) -> QuerySet[Any]:
    """The `count` nearest rows with a current embedding (HNSW), closest first."""
    found = rows.filter(embedding_status=EmbeddingStatus.READY, embedding_model=model_id)
    return _candidate_rows(found, query_vector, plan, "vector").order_by("distance")[:count]


def _keyword_half(rows: QuerySet[E], query_vector: Value, count: int, plan: KeywordPlan) -> QuerySet[Any]:
    """The `count` best full-text matches (memory.keywords), each with its cosine
    distance to the query (NULL while it has no embedding).

    The best matches are chosen first, then only they get their distance: in one query,
    PostgreSQL computed the distance (a 384-float vector read and compared) for every
    matching row before sorting, which for a common word in a large organization is
    thousands of rows."""
    best = (
        rows.filter(search_vector=plan.match)
        .annotate(rank=plan.rank())
        .order_by("-rank", "-created_at")
        .values("pk")[:count]
    )
    return _candidate_rows(rows.filter(pk__in=Subquery(best)), query_vector, plan, "keyword")


def _candidates_from(found: list[tuple[Any, ...]], model_id: str, plan: KeywordPlan | None) -> list[Candidate]:
    """Candidates from CANDIDATE_COLUMNS tuples of either half or both: the vector
    half's first, closest first, then the keyword half's, best first (a UNION ALL keeps
    no order); a row both halves brought is one candidate with both signals."""
    found.sort(key=lambda c: (c[6] != "vector", c[3] if c[6] == "vector" else -c[4], -c[1].timestamp()))
    total = plan.total if plan is not None else 0.0
    into: dict[Any, Candidate] = {}
    for pk, created_at, embedding_model, distance, rank, superseded, half in found:
        candidate = into.get(pk)
        if candidate is None:
            current = embedding_model == model_id and distance is not None
            candidate = into[pk] = Candidate(
                pk,
                created_at,
                similarity=1.0 - float(distance) if current else None,
                coverage=float(rank) / total if total else 0.0,
                superseded=bool(superseded),
            )
        if half == "vector":
            candidate.signals.append("vector")
        if candidate.coverage > 0 and "keyword" not in candidate.signals:
            candidate.signals.append("keyword")
    return list(into.values())


def vector_candidates(rows: QuerySet[E], vector: Any, count: int, model_id: str) -> list[Candidate]:
    """The vector half alone, closest first (benchmarks compare the halves)."""
    with transaction.atomic(savepoint=False):
        _prepare(rows, "")
        found = list(_vector_half(rows, vector_literal(vector), count, model_id, None))
    return _candidates_from(found, model_id, None)


def keyword_candidates(rows: QuerySet[E], query: str, vector: Any, count: int) -> list[Candidate]:
    """The keyword half alone, best first (benchmarks compare the halves)."""
    plan = keyword_plan(query, rows.model._meta.db_table, rows)
    if plan is None:
        return []
    found = list(_keyword_half(rows, vector_literal(vector), count, plan))
    return _candidates_from(found, get_provider().model_id, plan)


def candidates(rows: QuerySet[E], query: str, *, limit: int) -> list[Candidate]:
    """Every row either half brings, with its evidence (not yet scored), in the halves'
    order. Three statements at most: the settings with the query's words, the rarity of
    words ANALYZE does not know (memory.keywords), and both halves in one UNION ALL."""
    provider = get_provider()
    vector = provider.embed([query])[0]
    count = max(limit * 4, CANDIDATES)
    query_vector = vector_literal(vector)
    with transaction.atomic(savepoint=False):  # the settings last for this transaction
        lexemes = _prepare(rows, query)
        plan = keyword_plan(query, rows.model._meta.db_table, rows, lexemes=lexemes) if lexemes else None
        both = _vector_half(rows, query_vector, count, provider.model_id, plan)
        if plan is not None:
            both = both.union(_keyword_half(rows, query_vector, count, plan), all=True)
        found = list(both)
    return _candidates_from(found, provider.model_id, plan)


def _order(candidate: Candidate) -> tuple[float, float, datetime]:
    return (candidate.score, candidate.similarity or 0.0, candidate.created_at)


def search(
    rows: QuerySet[E], query: str, *, limit: int, min_similarity: float = 0.0, min_score: float = 0.0
) -> list[Hit[E]]:
    """The `limit` most relevant rows, most relevant first (score, then cosine, then the
    newest). Every row either half found is ranked: there is no hidden cut-off, so a
    search answers `limit` rows whenever the scope holds that many candidates; the
    weak ones say so by their score, which `min_score` filters on. A superseded row's
    score is scaled by SUPERSEDED_FACTOR. `min_similarity`
    applies to rows with an embedding; one still pending is judged by its words alone.
    Only the rows answered with are loaded (as `rows` loads them: its select_related and
    deferred columns apply), in one more statement."""
    found = candidates(rows, query, limit=limit)
    for candidate in found:
        factor = SUPERSEDED_FACTOR if candidate.superseded else 1.0
        candidate.score = relevance(candidate.similarity, candidate.coverage) * factor
    # A cosine may be negative: min_similarity 0 (the default) keeps every row.
    kept = [
        c
        for c in found
        if c.score >= min_score and (min_similarity <= 0 or c.similarity is None or c.similarity >= min_similarity)
    ]
    kept.sort(key=_order, reverse=True)
    kept = kept[:limit]
    if not kept:
        return []
    loaded = {row.pk: row for row in rows.filter(pk__in=[c.pk for c in kept]).defer(*HEAVY)}
    # A row deleted since it was found is left out, as if the search had come later.
    return [
        Hit(loaded[c.pk], c.score, c.similarity, c.coverage, c.signals, c.superseded) for c in kept if c.pk in loaded
    ]
