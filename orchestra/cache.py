"""Django's Redis cache, which falls back to this process's memory while Redis is away.

The cache holds counters only: the MCP rate limit and failed-auth throttle
(tools.mcp.guards) and allauth's login and sign-up rate limits. Shared through Redis,
they count across processes; while Redis is down each process counts on its own (a
limit still holds, per process), instead of every request failing. Whatever is put
in this cache must tolerate that: never use it for anything that must be shared to
be correct (a lock, an idempotency key).

While Redis is down, one operation per PROBE_SECONDS tries it again (orchestra.outages)
and the rest go straight to memory, so no request waits on a dead connection, and the
shared counters are back within a second of Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from orchestra import outages

T = TypeVar("T")


class FallbackRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        # Same key prefix, version and timeouts: the same keys, counted locally.
        self._local = LocMemCache(f"redis-fallback:{server}", params)

    def _either(self, remote: Callable[[], T], local: Callable[[], T]) -> T:
        outage = outages.outage(outages.REDIS)
        if not outage.should_try():
            return local()
        try:
            result = remote()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            outage.failed(exc)
            return local()
        except Exception:
            outage.recovered()  # Redis answered (with "no such key", say)
            raise
        outage.recovered()
        return result

    def add(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        return self._either(
            lambda: super(FallbackRedisCache, self).add(key, value, timeout, version),
            lambda: self._local.add(key, value, timeout, version),
        )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._either(
            lambda: super(FallbackRedisCache, self).get(key, default, version),
            lambda: self._local.get(key, default, version),
        )

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        self._either(
            lambda: super(FallbackRedisCache, self).set(key, value, timeout, version),
            lambda: self._local.set(key, value, timeout, version),
        )

    def touch(self, key: Any, timeout: Any = None, version: int | None = None) -> bool:
        return self._either(
            lambda: super(FallbackRedisCache, self).touch(key, timeout, version),
            lambda: self._local.touch(key, timeout, version),
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._either(
            lambda: super(FallbackRedisCache, self).delete(key, version),
            lambda: self._local.delete(key, version),
        )

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._either(
            lambda: super(FallbackRedisCache, self).get_many(keys, version),
            lambda: self._local.get_many(keys, version),
        )

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._either(
            lambda: super(FallbackRedisCache, self).has_key(key, version),
            lambda: self._local.has_key(key, version),
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._either(
            lambda: super(FallbackRedisCache, self).incr(key, delta, version),
            lambda: self._local.incr(key, delta, version),
        )

    def set_many(self, data: dict[Any, Any], timeout: Any = None, version: int | None = None) -> list[Any]:
        return self._either(
            lambda: super(FallbackRedisCache, self).set_many(data, timeout, version),
            lambda: self._local.set_many(data, timeout, version),
        )

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._either(
            lambda: super(FallbackRedisCache, self).delete_many(keys, version),
            lambda: self._local.delete_many(keys, version),
        )

    def clear(self) -> None:
        self._local.clear()
        self._either(lambda: super(FallbackRedisCache, self).clear(), lambda: None)
