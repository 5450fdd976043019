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
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Count, F, FloatField, Func, Q, QuerySet

MAX_TERMS = 12
# A word in more than this share of a table's rows barely tells rows apart.
COMMON_SHARE = 0.03
# Rows are found by the words in at most this share of rows (when the query has any):
# a few hundred rows of 100,000 to rank, not tens of thousands.
RARE_SHARE = 0.005
# ...and by at most this many of them, the rarest: each adds up to RARE_SHARE of the
# rows to rank, and the rarest carry the most weight anyway.
MAX_MATCH_TERMS = 3
# Ranking costs time in proportion to the rows the match brings: the words chosen
# bring at most about this many (estimated from their shares of the table), however
# large the table grows. At 100,000 rows three rare words stay under it.
MAX_RANKED_ROWS = 2_000
STATS_REFRESH_SECONDS = 600.0
# Before ANALYZE has seen the table every word counts as rare.
DEFAULT_FLOOR = 0.001
# The IDF of a word in (nearly) every row: it still counts in a row's coverage.
MIN_WEIGHT = 0.1
RARITY_POWER = 3


@dataclass(frozen=True)
class LexemeStats:
    share: dict[str, float]  # the most common lexemes: the share of rows holding each
    floor: float  # every other lexeme is in fewer rows than this share
    rows: float = 0.0  # the table's row count as ANALYZE last saw it

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
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
        counted = cursor.fetchone()
    total = max(float(counted[0]) if counted and counted[0] else 0.0, 0.0)
    stats = LexemeStats({}, DEFAULT_FLOOR, total)
    if row is not None and row[0]:
        lexemes, shares = row
        # The array ends with the minimum and maximum shares and the share of NULLs.
        stats = LexemeStats(dict(zip(lexemes, shares, strict=False)), float(shares[len(lexemes)]), total)
    _stats[table] = (now + STATS_REFRESH_SECONDS, stats)
    return stats


@dataclass(frozen=True)
class KeywordPlan:
    match: SearchQuery  # which rows qualify
    weights: dict[str, float]  # lexeme -> weight of holding it (every query lexeme)

    @property
    def total(self) -> float:
        """The weight of a row holding every query word: rank() / total is the row's
        coverage of the query (0-1)."""
        return sum(self.weights.values())

    def rank(self) -> HeldWeight:
        """Σ weight of each of the plan's lexemes a row holds (computed for matched rows only)."""
        return HeldWeight(self.weights)


class HeldWeight(Func):
    """Σ weight of each lexeme a row's search_vector holds, as one CASE per lexeme.

    Written as SQL here rather than built from Case/When/Q objects: those cost about a
    millisecond of Python per query to resolve and compile, more than the database
    spends on the rows. Each lexeme is a tsquery constant (`'word'::tsquery`, folded
    once at planning), not a to_tsquery call evaluated for every row."""

    output_field = FloatField()

    def __init__(self, weights: dict[str, float]) -> None:
        super().__init__(F("search_vector"))
        self.weights = dict(weights)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        column, column_params = compiler.compile(self.source_expressions[0])
        parts: list[str] = []
        params: list[Any] = []
        for lexeme, weight in self.weights.items():
            parts.append(f"CASE WHEN {column} @@ %s::tsquery THEN %s::float8 ELSE 0.0 END")
            params.extend([*column_params, _quoted(lexeme), weight])
        return "(" + " + ".join(parts) + ")", params


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _lexeme_query(lexeme: str) -> SearchQuery:
    # Lexemes are already stemmed: the "simple" configuration takes them as they are.
    return SearchQuery(_quoted(lexeme), search_type="raw", config="simple")


# The query's words as PostgreSQL indexes them (English stems, no stop words): an SQL
# expression of one parameter, the query (at most QUERY_CHARS of it).
LEXEMES_SQL = "tsvector_to_array(to_tsvector('english', %s))"
QUERY_CHARS = 2000


def query_lexemes(query: str) -> list[str]:
    """The query's words as PostgreSQL indexes them (English stems, no stop words)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {LEXEMES_SQL}", [query[:QUERY_CHARS]])
        row = cursor.fetchone()
    return list(row[0]) if row and row[0] else []


def _weight(share: float) -> float:
    # log(1/share) (an IDF), floored so a word in (nearly) every row still counts a
    # little, and cubed: a word one row in 10,000 holds (IDF 9.2) then weighs about
    # twice one in 1,000 (6.9) and six times one in 50 (3.9), so a row holding the
    # query's codename or error string is not outweighed by rows holding its filler
    # words (bench/bench_ranking.py: powers 3 and 4 rank alike, 1 and 2 lose
    # exact-term queries).
    return max(math.log(1.0 / max(share, 1e-6)), MIN_WEIGHT) ** RARITY_POWER


def rare_counts(rows: QuerySet[Any], lexemes: list[str]) -> dict[str, int]:
    """How many of `rows` hold each of these rare lexemes, in one query through the GIN
    index (each is in few rows: that is what makes it rare)."""
    if not lexemes:
        return {}
    either = SearchQuery(" | ".join(map(_quoted, lexemes)), search_type="raw", config="simple")
    counts = rows.filter(search_vector=either).aggregate(
        **{f"l{n}": Count("pk", filter=Q(search_vector=_lexeme_query(lexeme))) for n, lexeme in enumerate(lexemes)}
    )
    return {lexeme: int(counts[f"l{n}"] or 0) for n, lexeme in enumerate(lexemes)}


def bounded_match(words: list[str], stats: LexemeStats) -> str:
    """A tsquery for `words` (rarest first) that brings at most about MAX_RANKED_ROWS
    rows: the rarest words OR-ed while their estimated rows stay under it; if even the
    rarest alone brings more, rows must hold the rarest words together (AND-ed until
    the estimate, their shares multiplied, is under it). A row the match leaves out
    can still come from the vector half."""

    def estimate(shares: list[float], every: bool) -> float:
        return (math.prod(shares) if every else sum(shares)) * stats.rows

    either = words[:1]
    for word in words[1:]:
        if estimate([stats.of(w) for w in [*either, word]], every=False) > MAX_RANKED_ROWS:
            break
        either.append(word)
    if len(either) > 1 or estimate([stats.of(words[0])], every=False) <= MAX_RANKED_ROWS:
        return " | ".join(map(_quoted, either))
    every = words[:1]
    for word in words[1:]:
        every.append(word)
        if estimate([stats.of(w) for w in every], every=True) <= MAX_RANKED_ROWS:
            break
    return " & ".join(map(_quoted, every))


def keyword_plan(
    query: str, table: str, rows: QuerySet[Any] | None = None, *, lexemes: list[str] | None = None
) -> KeywordPlan | None:
    """How to find and rank `query`'s words in `table`; None when it has no words.

    Given the rows searched, the words ANALYZE does not know (all below its floor, so
    all alike to it) are counted in those rows: a word one row holds then weighs more
    than one twenty rows hold, and a word no row holds is left out (it would lower
    every row's coverage alike). `lexemes`: the query's, when the caller has them
    already (query_lexemes)."""
    if lexemes is None:
        lexemes = query_lexemes(query)
    if not lexemes:
        return None
    stats = lexeme_stats(table)
    if rows is not None and stats.rows > 0:
        counts = rare_counts(rows, [lexeme for lexeme in lexemes if lexeme not in stats.share][:MAX_TERMS])
        lexemes = [lexeme for lexeme in lexemes if counts.get(lexeme, 1) > 0]
        if not lexemes:
            return None
        # A share below the floor ANALYZE knows, from the count (at most the floor).
        known = {lexeme: min(count / stats.rows, stats.floor) for lexeme, count in counts.items() if count}
        stats = LexemeStats({**stats.share, **known}, stats.floor, stats.rows)
    by_rarity = sorted(lexemes, key=stats.of)[:MAX_TERMS]
    useful = [lexeme for lexeme in by_rarity if stats.of(lexeme) <= COMMON_SHARE]
    rare = [lexeme for lexeme in useful if stats.of(lexeme) <= RARE_SHARE][:MAX_MATCH_TERMS]
    if rare:  # rare words find few rows, and the right ones
        match = bounded_match(rare, stats)
    elif useful:
        match = bounded_match(useful, stats)
    else:  # only common words: a row must hold all of them
        match = " & ".join(map(_quoted, by_rarity))
    # Every query word weighs in the rank, common ones barely (a word in half the rows
    # weighs (log 2)^3, a rare one about (log 2000)^3): a row's coverage of the query
    # (memory.search) then says how much of what the query asks for the row holds.
    weights = {lexeme: _weight(stats.of(lexeme)) for lexeme in by_rarity}
    return KeywordPlan(SearchQuery(match, search_type="raw", config="simple"), weights)
