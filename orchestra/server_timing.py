"""Server-Timing on /mcp answers: where a request's time went (off by default).

With MCP_SERVER_TIMING on, each answer that ran in a worker thread says how long the
handler took there, how much of that was SQL (summed over its statements, rows
fetched included: psycopg reads a whole result in `execute`; COMMIT included) and how
many statements it sent, and the consumer adds the request's total time in the server. What is left
(total minus handler) is the thread hop; handler minus db is Python. bench/bench_tools.py
prints these beside the client's own figures.

Off by default: the header tells a caller how many statements its request cost, which
is a detail for operators, and measuring every statement has a (small) price.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from django.db import connection

P = ParamSpec("P")
R = TypeVar("R", bound="HasHeaders")
HEADER = "Server-Timing"


class HasHeaders(Protocol):
    headers: dict[str, str]


class StatementClock:
    """Sums SQL time: an execute wrapper (Django's connection.execute_wrapper) for the
    statements and savepoints, and a wrapper of the connection's commit, which sends
    no statement through a cursor."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        return self.timed(execute, sql, params, many, context)

    def timed(self, call: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.seconds += time.perf_counter() - started
            self.statements += 1


def timed_handler(handler: Callable[P, R]) -> Callable[P, R]:
    """`handler` (run in a worker thread) with its time and its SQL's in the header."""

    @functools.wraps(handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        clock = StatementClock()
        commit = connection._commit  # type: ignore[attr-defined]  # this thread's connection, for this request only
        connection._commit = lambda: clock.timed(commit)  # type: ignore[attr-defined]
        started = time.perf_counter()
        try:
            with connection.execute_wrapper(clock):
                reply = handler(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            del connection._commit  # type: ignore[attr-defined]  # the class's method again
        reply.headers[HEADER] = (
            f'handler;dur={elapsed * 1000:.3f}, db;dur={clock.seconds * 1000:.3f};desc="{clock.statements} statements"'
        )
        return reply

    return run


def add_total(headers: dict[str, str], started: float) -> None:
    """Put the request's whole time in the server (since `started`, a perf_counter) first."""
    total = f"total;dur={(time.perf_counter() - started) * 1000:.3f}"
    headers[HEADER] = f"{total}, {headers[HEADER]}" if HEADER in headers else total
