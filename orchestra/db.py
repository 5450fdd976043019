"""Running ORM code from async code (consumers) without holding connections."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import connections, transaction
from django.db.models import Model, QuerySet

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=Model)


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


# The event loop that handed the current worker thread its work (run_db sets it in the
# thread's context): code there schedules async work on it without waiting for it.
serving_loop: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "serving_loop", default=None
)


async def run_db(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `fn` in a worker thread of the loop's executor (so requests run in parallel
    up to its size) in a copy of the caller's context, and give its connection back
    afterwards.

    The plain executor hop, not asgiref's sync_to_async: that one also prepares for
    async_to_sync calls back into the loop from the thread (nothing here makes them:
    the live feed schedules its sends on `serving_loop` instead) and costs about as
    much Python per request as a small query."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    context.run(serving_loop.set, loop)
    return await loop.run_in_executor(None, functools.partial(context.run, _closing(fn), *args, **kwargs))


def advisory_xact_lock(key: str) -> None:
    """Take PostgreSQL's advisory lock named `key` until the transaction ends: changes
    that must not interleave (slug choice, a task graph's edges) take turns on it."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def unique_row(rows: QuerySet[M]) -> M | None:
    """The row of a query that matches at most one (by a unique key), or None: LIMIT 1
    without the ORDER BY that QuerySet.first() adds, whose building is about a tenth of
    a small read's Python."""
    for row in rows[:1]:
        return row
    return None
