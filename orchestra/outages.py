"""Redis or PostgreSQL away: one place that recognises it, remembers it and says so.

- `unavailable_service(exc)` names the service an exception says is unreachable
  ("redis" or "database"), or None for any other failure (a bug stays a 500).
- Each service has an `Outage` per process: the first failure logs one ERROR line,
  later ones are counted and logged at most once per OUTAGE_LOG_INTERVAL_SECONDS, never
  with a traceback (a dead Redis made 3,458 traceback lines in 15 s); recovery logs one
  WARNING. While a service is down, callers that have a fallback skip it and only one
  call per PROBE_SECONDS tries it again, so nobody waits on a dead connection and it
  is noticed again within a second of coming back.
- Every transport answers an outage the same way: 503 with `Retry-After`
  (OUTAGE_RETRY_AFTER_SECONDS); the MCP transports as a JSON-RPC error
  (tools.mcp.jsonrpc.SERVICE_UNAVAILABLE), Django views through
  orchestra.middleware.ServiceUnavailableMiddleware.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

logger = logging.getLogger("orchestra.outages")

REDIS = "redis"
DATABASE = "database"
MESSAGE = "Service temporarily unavailable: try again shortly"
# While a service is down, one caller tries it again this often (the others use their
# fallback, or answer 503 at once).
PROBE_SECONDS = 0.5

# PostgreSQL errors that mean "no usable server", not "this statement failed": the
# connection-exception class (08), an administrator, crash or startup shutdown (57P0x),
# and too many connections. A statement timeout (57014) or a deadlock (40P01) is not.
_DATABASE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def unavailable_service(exc: BaseException) -> str | None:
    """ "redis" or "database" when `exc` (or what it wraps) says that service cannot be
    reached, else None."""
    import psycopg
    import psycopg_pool
    import redis

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, redis.ConnectionError | redis.TimeoutError):
            return REDIS
        if settings.REDIS_URL and _is_broker_error(current):
            return REDIS
        if isinstance(current, psycopg_pool.PoolTimeout | psycopg_pool.PoolClosed | psycopg_pool.TooManyRequests):
            return DATABASE
        if isinstance(current, psycopg.OperationalError):
            state = current.sqlstate
            if state is None or state.startswith("08") or state in _DATABASE_SQLSTATES:
                return DATABASE
        current = current.__cause__ or current.__context__
    return None


def _is_broker_error(exc: BaseException) -> bool:
    from kombu.exceptions import OperationalError

    return isinstance(exc, OperationalError)


@dataclass
class Outage:
    """What this process knows of one service being away."""

    service: str
    _lock: threading.Lock = field(default_factory=threading.Lock)
    down_since: float | None = None  # time.monotonic() of the first failure
    _failures: int = 0  # since the last line logged
    _total: int = 0  # since the outage began
    _logged_at: float = 0.0
    _next_probe: float = 0.0

    def is_down(self) -> bool:
        return self.down_since is not None

    def should_try(self) -> bool:
        """Whether this caller should use the service now: always while it is up; while
        it is down, one caller per PROBE_SECONDS (the others take their fallback)."""
        if self.down_since is None:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._next_probe:
                return False
            self._next_probe = now + PROBE_SECONDS
            return True

    def failed(self, exc: BaseException) -> None:
        """The service failed a caller: remember it, and log once per interval."""
        now = time.monotonic()
        with self._lock:
            first = self.down_since is None
            if first:
                self.down_since = now
                self._next_probe = now + PROBE_SECONDS
            self._failures += 1
            self._total += 1
            due = first or now - self._logged_at >= settings.OUTAGE_LOG_INTERVAL_SECONDS
            if not due:
                return
            failures, self._failures, self._logged_at = self._failures, 0, now
            since = now - self.down_since  # type: ignore[operator]
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
        if first:
            logger.error("%s unavailable: %s", self.service, reason)
        else:
            logger.error(
                "%s still unavailable after %.0f s: %s (%d failed operations since the last report)",
                self.service,
                since,
                reason,
                failures,
            )

    def recovered(self) -> None:
        """The service answered again."""
        if self.down_since is None:  # the common case, without the lock
            return
        with self._lock:
            if self.down_since is None:
                return
            since, total = time.monotonic() - self.down_since, self._total
            self.down_since, self._failures, self._total = None, 0, 0
        logger.warning("%s is back after %.1f s (%d failed operations)", self.service, since, total)


_OUTAGES = {REDIS: Outage(REDIS), DATABASE: Outage(DATABASE)}


def outage(service: str) -> Outage:
    return _OUTAGES[service]


def report(exc: BaseException) -> str | None:
    """If `exc` means a service is unavailable, record it (logged once per interval)
    and name the service; else None (the caller handles a real error). One failure is
    counted once, however many layers (the database backend, then the transport)
    report it as it travels up."""
    service = unavailable_service(exc)
    if service is not None and not _reported(exc):
        _OUTAGES[service].failed(exc)
    return service


_REPORTED = "_orchestra_outage_reported"


def _reported(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it wraps, was reported already; marks it so."""
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        if getattr(current, _REPORTED, False):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    # (An exception type without a __dict__ cannot be marked: it would be counted again.)
    with contextlib.suppress(AttributeError):
        setattr(exc, _REPORTED, True)
    return False


def retry_after() -> str:
    """The Retry-After header's value for a 503 answered during an outage."""
    return str(settings.OUTAGE_RETRY_AFTER_SECONDS)


class OutageLogFilter(logging.Filter):
    """A last line of defence on the log handler: a record whose exception is an outage
    (from code that logs before anyone could map it, like a library's own
    `logger.exception`) is counted into the outage instead of printing a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or record.name == logger.name:
            return True
        return report(exc) is None


class OncePerInterval(logging.Filter):
    """For libraries that log every attempt while a service is away (psycopg's pool: a
    line per failed connection and per discarded one): one record per message per
    OUTAGE_LOG_INTERVAL_SECONDS, the next one saying how many were left out."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int]] = {}  # template -> (logged at, left out since)

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        now = time.monotonic()
        with self._lock:
            logged_at, left_out = self._last.get(key, (-float("inf"), 0))
            if now - logged_at < settings.OUTAGE_LOG_INTERVAL_SECONDS:
                self._last[key] = (logged_at, left_out + 1)
                return False
            if len(self._last) > 1000:  # templates are few; bound it anyway
                self._last.clear()
            self._last[key] = (now, 0)
        if left_out:
            record.msg = f"{record.msg} ({left_out} similar lines left out)"
        return True
