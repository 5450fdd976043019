"""Races for tests: actions run in threads released at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions in threads released together, each with its own database
    connection; what each returned, or the exception it raised (the test asserts on it)."""
    start = threading.Barrier(len(actions))
    outcomes: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=10)
            outcomes[index] = action()
        except BaseException as exc:  # reported: the test asserts on it
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, action)) for n, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return outcomes
