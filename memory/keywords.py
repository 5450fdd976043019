"""The keyword half of hybrid search: which rows a query's words find, and in what
order, weighting each word by how rare it is (an IDF weight, from the statistics
PostgreSQL's ANALYZE keeps for the search_vector column).

Plain `ts_rank` counts every word alike, so a note that shares "database" and
"session" with the question ties with the one that shares its project's codename;
and OR-ing common words makes the query rank tens of thousands of rows. Here the
rows are found by the query's rarest words, and ranked by the summed rarity of all
the (not too common) words they contain.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Case, FloatField, Q, Value, When
from django.db.models.expressions import Combinable

MAX_TERMS = 12
# A word in more than this share of a table's rows barely tells rows apart.
COMMON_SHARE = 0.03
# Rows are found by the words in at most this share of rows (when the query has any):
# a few hundred rows of 100,000 to rank, not tens of thousands.
RARE_SHARE = 0.005
# ...and by at most this many of them, the rarest: each adds up to RARE_SHARE of the
# rows to rank, and the rarest carry the most weight anyway.
MAX_MATCH_TERMS = 3
STATS_REFRESH_SECONDS = 600.0
# Before ANALYZE has seen the table every word counts as rare.
DEFAULT_FLOOR = 0.001


@dataclass(frozen=True)
class LexemeStats:
    share: dict[str, float]  # the most common lexemes: the share of rows holding each
    floor: float  # every other lexeme is in fewer rows than this share

    def of(self, lexeme: str) -> float:
        return self.share.get(lexeme, self.floor / 2)


_stats: dict[str, tuple[float, LexemeStats]] = {}


def lexeme_stats(table: str) -> LexemeStats:
    """ANALYZE's most common lexemes of `table`.search_vector (per process, refreshed
    every ten minutes)."""
    now = time.monotonic()
    cached = _stats.get(table)
    if cached is not None and cached[0] > now:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = %s AND attname = 'search_vector'",
            [table],
        )
        row = cursor.fetchone()
    stats = LexemeStats({}, DEFAULT_FLOOR)
    if row is not None and row[0]:
        lexemes, shares = row
        # The array ends with the minimum and maximum shares and the share of NULLs.
        stats = LexemeStats(dict(zip(lexemes, shares, strict=False)), float(shares[len(lexemes)]))
    _stats[table] = (now + STATS_REFRESH_SECONDS, stats)
    return stats


@dataclass(frozen=True)
class KeywordPlan:
    match: SearchQuery  # which rows qualify
    weights: dict[str, float]  # lexeme -> weight of holding it

    def rank(self) -> Combinable:
        """Σ weight of each of the plan's lexemes a row holds (computed for matched rows only)."""
        terms = [
            Case(
                When(Q(search_vector=_lexeme_query(lexeme)), then=Value(weight)),
                default=Value(0.0),
                output_field=FloatField(),
            )
            for lexeme, weight in self.weights.items()
        ]
        total: Combinable = terms[0]
        for term in terms[1:]:
            total = total + term
        return total


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _lexeme_query(lexeme: str) -> SearchQuery:
    # Lexemes are already stemmed: the "simple" configuration takes them as they are.
    return SearchQuery(_quoted(lexeme), search_type="raw", config="simple")


def query_lexemes(query: str) -> list[str]:
    """The query's words as PostgreSQL indexes them (English stems, no stop words)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector('english', %s))", [query[:2000]])
        row = cursor.fetchone()
    return list(row[0]) if row and row[0] else []


def keyword_plan(query: str, table: str) -> KeywordPlan | None:
    """How to find and rank `query`'s words in `table`; None when it has no words."""
    lexemes = query_lexemes(query)
    if not lexemes:
        return None
    stats = lexeme_stats(table)
    by_rarity = sorted(lexemes, key=stats.of)[:MAX_TERMS]
    useful = [lexeme for lexeme in by_rarity if stats.of(lexeme) <= COMMON_SHARE]
    rare = [lexeme for lexeme in useful if stats.of(lexeme) <= RARE_SHARE][:MAX_MATCH_TERMS]
    if rare:  # rare words find few rows, and the right ones
        match = " | ".join(map(_quoted, rare))
    elif useful:
        match = " | ".join(map(_quoted, useful))
    else:  # only common words: a row must hold all of them
        useful = by_rarity
        match = " & ".join(map(_quoted, useful))
    weights = {lexeme: math.log(1.0 / max(stats.of(lexeme), 1e-6)) for lexeme in useful}
    return KeywordPlan(SearchQuery(match, search_type="raw", config="simple"), weights)
