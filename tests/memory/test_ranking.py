"""search_memory's ranking (docs/decisions/0017-ranking.md): a 0-1 relevance that
grows with either kind of evidence, min_score, limit honoured (no hidden cut-off),
exact terms winning by their words, and rows without an embedding flagged pending."""

from __future__ import annotations

import pytest

from memory.keywords import LexemeStats, bounded_match
from memory.models import Memory
from memory.search import COSINE_FULL, COSINE_NONE, KEYWORD_FULL, ef_search, relevance
from memory.tasks import embed_now
from tests.conftest import error_code, ok

NOTES = [
    "The staging database migration failed because an index was missing.",
    "Marketing plans a launch party in June.",
    "Alice prefers tabs over spaces in Go code.",
    "The billing webhook retries failed deliveries with exponential backoff.",
    "Our CI pipeline caches Python wheels between runs.",
    "The nightly import job failed again; the logs show ECONNRESET.",
    "The nightly import job failed again; the logs show ETIMEDOUT.",
    "The nightly import job failed again; the logs show EADDRINUSE.",
]


def store(call, identity, content: str, **kwargs) -> dict:
    return ok(call(identity, "store_memory", content=content, **kwargs))["memory"]


def embed_all() -> None:
    embed_now([str(pk) for pk in Memory.unscoped.values_list("pk", flat=True)])


def search(call, identity, query: str, **kwargs) -> list[dict]:
    return ok(call(identity, "search_memory", query=query, **kwargs))["items"]


@pytest.fixture
def notes(call, alice_id, acme) -> None:
    for note in NOTES:
        store(call, alice_id, note)
    embed_all()


def test_relevance_is_0_to_1_and_grows_with_either_evidence() -> None:
    cosines = [None, -0.3, 0.0, COSINE_NONE, 0.3, 0.5, COSINE_FULL, 1.0]
    coverages = [0.0, 0.2, 0.5, 0.8, 1.0]
    for similarity in cosines:
        row = [relevance(similarity, coverage) for coverage in coverages]
        assert all(0.0 <= score <= 1.0 for score in row)
        assert row == sorted(row)  # more of the query's words: never less relevant
    for coverage in coverages:
        column = [relevance(similarity, coverage) for similarity in cosines]
        assert column == sorted(column)  # closer in meaning: never less relevant
    assert relevance(None, 0.0) == relevance(COSINE_NONE, 0.0) == 0.0
    assert relevance(COSINE_FULL, 0.0) == 1.0
    assert relevance(None, 1.0) == pytest.approx(KEYWORD_FULL)
    # Neither half can pull a row below what the other says of it (noisy-OR).
    assert relevance(0.5, 0.4) >= max(relevance(0.5, 0.0), relevance(None, 0.4))


def test_scores_are_relevances_best_first(call, alice_id, notes) -> None:
    items = search(call, alice_id, "why did our DB schema change break on staging?")
    assert items[0]["content"] == NOTES[0]
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert scores[0] > 0.6 and scores[-1] < 0.3  # a strong match and weak ones, readable as such
    assert all("pending" not in item for item in items)


def test_limit_is_honoured_without_a_hidden_cut_off(call, alice_id, notes) -> None:
    # Before issue 17 a cosine floor of 0.2 dropped the far rows: limit 3 gave one item.
    for limit in (1, 3, 5, len(NOTES)):
        assert len(search(call, alice_id, "launch party", limit=limit)) == limit


def test_min_score_leaves_out_weaker_results(call, alice_id, notes) -> None:
    everything = search(call, alice_id, "launch party", limit=len(NOTES))
    threshold = 0.5
    strong = search(call, alice_id, "launch party", limit=len(NOTES), min_score=threshold)
    assert [i["id"] for i in strong] == [i["id"] for i in everything if i["score"] >= threshold]
    assert strong and len(strong) < len(everything)
    assert search(call, alice_id, "launch party", min_score=1.0) == []
    assert error_code(call(alice_id, "search_memory", query="x", min_score=1.5)) == "invalid_arguments"
    assert error_code(call(alice_id, "search_memory", query="x", min_score=-0.1)) == "invalid_arguments"


@pytest.mark.parametrize("term", ["ECONNRESET", "ETIMEDOUT", "EADDRINUSE"])
def test_an_exact_term_wins_among_look_alikes(call, alice_id, notes, term) -> None:
    """Three notes say the same but for the error string: meaning cannot tell them apart,
    the words do, and the fusion keeps that win."""
    for query in (term, f"have we seen {term} before?"):
        items = search(call, alice_id, query, limit=3)
        assert items[0]["content"].endswith(f"{term}."), query
        assert "keyword" in items[0]["matched"]
        assert items[0]["score"] > items[1]["score"]


def test_a_row_without_an_embedding_is_found_by_words_and_flagged_pending(call, alice_id, notes) -> None:
    fresh = store(call, alice_id, "Zebra crossing sensors need recalibration.")
    items = search(call, alice_id, "zebra recalibration", limit=3)
    assert items[0]["id"] == fresh["id"]
    assert items[0]["pending"] is True and "similarity" not in items[0] and items[0]["matched"] == ["keyword"]
    assert 0.0 < items[0]["score"] <= KEYWORD_FULL
    assert all("pending" not in item for item in items[1:])
    embed_all()
    again = search(call, alice_id, "zebra recalibration", limit=1)[0]
    assert again["id"] == fresh["id"] and "pending" not in again and again["score"] >= items[0]["score"]


@pytest.mark.parametrize(
    "rows, shares, match",
    [
        (0, [0.001, 0.002, 0.004], "'a' | 'b' | 'c'"),  # never analyzed: no estimate
        (100_000, [0.001, 0.002, 0.004], "'a' | 'b' | 'c'"),  # 700 rows to rank
        (1_000_000, [0.001, 0.002, 0.004], "'a'"),  # 'a' alone: 1,000 rows
        (1_000_000, [0.004, 0.005, 0.02], "'a' & 'b'"),  # 'a' alone is 4,000: with 'b', about 20
        (1_000_000, [0.03], "'a'"),  # one word: nothing narrower to ask for
    ],
)
def test_the_keyword_match_brings_a_bounded_number_of_rows(rows, shares, match) -> None:
    words = ["a", "b", "c"][: len(shares)]
    stats = LexemeStats(dict(zip(words, shares, strict=True)), floor=0.0001, rows=rows)
    assert bounded_match(words, stats) == match


def test_the_hnsw_candidate_list_grows_with_the_table() -> None:
    assert ef_search(0) == ef_search(100_000) == 100
    assert ef_search(1_000_000) == 350  # recall@10 0.952 at a million (bench_memory)
    assert 100 < ef_search(300_000) < 350
    assert ef_search(100_000_000) == 400
