"""Checks every MCP and REST request passes before any tool runs.

Host/Origin (DNS rebinding), throttling of failed authentication per client
address, and the per-organization rate limit. Counters live in Redis (Django's
cache) when REDIS_URL is set, shared by every process; in the embedded default they
are this process's own (`ProcessCounters`), as Django's local-memory cache kept them,
without its per-call pickling, key checks and per-task cache object: two counter
operations run on every request, on the event loop.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


def host_allowed(host_header: str | None) -> bool:
    if not host_header:
        return False
    hostname = urlsplit(f"//{host_header}").hostname or ""
    return hostname in settings.ALLOWED_HOSTS or f"[{hostname}]" in settings.ALLOWED_HOSTS


def origin_allowed(origin: str | None) -> bool:
    """Browsers send Origin; a page on another site must not reach a local server."""
    if origin is None:
        return True
    if origin == settings.APP_ORIGIN:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.hostname in ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    reset_at: int  # unix seconds

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if self.exceeded:
            headers["Retry-After"] = str(self.retry_after)
        return headers

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_at - int(time.time()))


class ProcessCounters:
    """Counters of the current window in this process. Every counter shares the same
    windows (WINDOW_SECONDS), so a new window starts them all from zero at once; at
    most one window's keys are ever held."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # requests count from the loop and worker threads
        self._window = -1
        self._counts: dict[str, int] = {}

    def add(self, key: str, window: int, cost: int) -> int:
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            used = self._counts.get(key, 0) + cost
            self._counts[key] = used
            return used

    def get(self, key: str, window: int) -> int:
        with self._lock:
            return self._counts.get(key, 0) if window == self._window else 0

    def clear(self) -> None:
        with self._lock:
            self._window, self._counts = -1, {}


process_counters = ProcessCounters()


def _count(key_prefix: str, limit: int, *, increment: bool = True, cost: int = 1) -> RateLimit:
    now = int(time.time())
    window = now // WINDOW_SECONDS
    reset_at = (window + 1) * WINDOW_SECONDS
    if not settings.REDIS_URL:
        counting = increment and cost > 0
        used = process_counters.add(key_prefix, window, cost) if counting else process_counters.get(key_prefix, window)
        return RateLimit(limit=limit, remaining=limit - used, reset_at=reset_at)
    key = f"{key_prefix}:{window}"
    if increment and cost > 0:
        # incr first: one cache operation (one Redis round trip) per request once the
        # window's counter exists; add only for the window's first request.
        try:
            used = cache.incr(key, cost)
        except ValueError:  # no counter yet in this window (or another request just made it)
            used = cost if cache.add(key, cost, timeout=WINDOW_SECONDS + 5) else cache.incr(key, cost)
    else:
        used = int(cache.get(key, 0))
    return RateLimit(limit=limit, remaining=limit - used, reset_at=reset_at)


def organization_rate_limit(organization_id: object, *, cost: int = 1, per_minute: int | None = None) -> RateLimit:
    """Count `cost` requests (one, or the other messages of a batch) against the
    organization's per-minute budget: `per_minute`, its plan's (the token identity
    carries it), or MCP_RATE_LIMIT_PER_MINUTE."""
    limit = per_minute if per_minute is not None else settings.MCP_RATE_LIMIT_PER_MINUTE
    return _count(f"rl:org:{organization_id}", limit, cost=cost)


def auth_retry_after(client_ip: str) -> int | None:
    """Seconds until `client_ip` may try again once its failed attempts reached the
    limit; None while it may try."""
    state = _count(f"rl:authfail:{client_ip}", settings.AUTH_FAILURE_LIMIT_PER_MINUTE, increment=False)
    return state.retry_after if state.remaining <= 0 else None


def record_auth_failure(client_ip: str) -> None:
    _count(f"rl:authfail:{client_ip}", settings.AUTH_FAILURE_LIMIT_PER_MINUTE)
