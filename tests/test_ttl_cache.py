"""The per-process cache behind token checks, MCP sessions and usage counts."""

from __future__ import annotations

import pytest

from orchestra import ttl_cache
from orchestra.ttl_cache import TtlCache


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(ttl_cache.time, "monotonic", lambda: now[0])
    return now


def test_entries_expire_and_stale_reads_are_explicit(clock) -> None:
    cache: TtlCache[str, int] = TtlCache()
    cache.put("a", 1, ttl=1.0)
    assert cache.get("a") == 1
    clock[0] += 1.0
    assert cache.get("a") is None  # expired at exactly its time
    assert cache.get("a", stale_ok=True) == 1
    assert cache.get("missing", stale_ok=True) is None


def test_pop_and_discard_where(clock) -> None:
    cache: TtlCache[tuple[str, str], int] = TtlCache()
    for session in ("s1", "s2"):
        for token in ("t1", "t2"):
            cache.put((session, token), 0, ttl=5)
    cache.discard_where(lambda key, _: key[0] == "s1")
    cache.pop(("s2", "t1"))
    cache.pop(("never", "there"))
    assert [cache.get((s, t)) for s in ("s1", "s2") for t in ("t1", "t2")] == [None, None, None, 0]


def test_expired_entries_are_swept_as_keys_come_and_go(clock) -> None:
    """A key per client session, forever new: memory stays bounded by the live ones."""
    cache: TtlCache[int, int] = TtlCache()
    for n in range(20 * ttl_cache.MIN_SWEEP):
        cache.put(n, n, ttl=1.0)
        clock[0] += 0.1  # ten live entries at any time
    assert len(cache) < 2 * ttl_cache.MIN_SWEEP
    assert cache.get(20 * ttl_cache.MIN_SWEEP - 1) is not None


def test_a_recently_expired_entry_survives_a_sweep_for_stale_readers(clock) -> None:
    cache: TtlCache[int, str] = TtlCache()
    cache.put(-1, "seen fresh a moment ago", ttl=1.0)
    clock[0] += 1.5
    for n in range(ttl_cache.MIN_SWEEP):
        cache.put(n, "x", ttl=1.0)
    assert cache.get(-1, stale_ok=True) == "seen fresh a moment ago"
