"""Running ORM code from async code (consumers) without holding connections."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections, transaction

P = ParamSpec("P")
R = TypeVar("R")


def _closing(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        finally:
            # With the connection pool this hands the connection back to the pool,
            # so an idle worker thread never holds one.
            connections.close_all()

    return run


async def run_db(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `fn` in a worker thread (not the single thread-sensitive one, so requests
    run in parallel up to the pool size) and give its connection back afterwards."""
    return await sync_to_async(_closing(fn), thread_sensitive=False)(*args, **kwargs)


def advisory_xact_lock(key: str) -> None:
    """Take PostgreSQL's advisory lock named `key` until the transaction ends: changes
    that must not interleave (slug choice, a task graph's edges) take turns on it."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
