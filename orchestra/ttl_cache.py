"""A per-process cache whose entries expire: token checks, MCP sessions, usage counts.

Each of those caches saves a busy client a query or two per request, and each is
emptied at once, in every process, by the events that make an entry wrong (decision
0005); the expiry only bounds how long an entry could live if such an event were lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Sweeping starts at this many entries, and then waits for the cache to double.
MIN_SWEEP = 1000
# An entry is swept this long after it expired, so a reader allowed a stale value
# (`stale_ok`) still finds one it saw fresh a moment ago.
SWEEP_GRACE_SECONDS = 60.0


class TtlCache(Generic[K, V]):
    """Entries that expire. Expired entries are swept out whenever the cache has
    doubled since the last sweep: an amortised O(1) per `put`, and never much more
    than twice the live entries in memory, however many keys come and go."""

    def __init__(self) -> None:
        self._entries: dict[K, tuple[float, V]] = {}
        self._sweep_at = MIN_SWEEP

    def get(self, key: K, *, stale_ok: bool = False) -> V | None:
        entry = self._entries.get(key)
        if entry is None or (entry[0] <= time.monotonic() and not stale_ok):
            return None
        return entry[1]

    def put(self, key: K, value: V, ttl: float) -> None:
        now = time.monotonic()
        if len(self._entries) >= self._sweep_at:
            cutoff = now - SWEEP_GRACE_SECONDS
            for stale in [k for k, (until, _) in list(self._entries.items()) if until <= cutoff]:
                self._entries.pop(stale, None)
            self._sweep_at = max(MIN_SWEEP, 2 * len(self._entries))
        self._entries[key] = (now + ttl, value)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def discard_where(self, predicate: Callable[[K, V], bool]) -> None:
        for key, (_, value) in list(self._entries.items()):
            if predicate(key, value):
                self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
