"""The children of `manage.py serve` in the embedded default (a Celery worker and beat),
kept alive: a child that dies is started again, after a pause that doubles while it
keeps dying (RESTART_FIRST_SECONDS up to RESTART_MAX_SECONDS; back to the first once it
has run RESTART_STABLE_SECONDS), and the web server keeps serving meanwhile. (Before,
the death of either stopped everything, the web server included.) /readyz reports
each child, so a probe or a person can see what is down.

Each child runs in a process group of its own, so the remains of one that was killed
(a Celery worker's pool processes) are ended with it before it starts again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0
RESTART_STABLE_SECONDS = 60.0
STOP_SECONDS = 15.0


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # when it is down: when it starts again
    failures: int = 0  # deaths in a row, each before it ran RESTART_STABLE_SECONDS
    restarts: int = 0
    last_exit: int | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        self.restart_at = None

    def status(self) -> str:
        if self.restart_at is None:
            return "ok"
        wait = max(0.0, self.restart_at - time.monotonic())
        return f"down: {describe_exit(self.last_exit)}, restarting in {wait:.0f} s"


def describe_exit(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        return f"killed by signal {-code} ({signal.Signals(-code).name})"
    return f"exited with status {code}"


@dataclass
class Supervisor:
    children: dict[str, Child]
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        for child in self.children.values():
            child.start()
        self._thread = threading.Thread(target=self._watch, name="orchestra-supervisor", daemon=True)
        self._thread.start()

    def status(self) -> dict[str, str]:
        with self._lock:
            return {name: child.status() for name, child in self.children.items()}

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            with self._lock:
                for child in self.children.values():
                    self._check(child)

    def _check(self, child: Child) -> None:
        now = time.monotonic()
        if child.restart_at is None:
            assert child.process is not None
            code = child.process.poll()
            if code is None:
                return
            _end_group(child.process)  # what it leaves behind (a worker's pool processes)
            stable = now - child.started_at >= RESTART_STABLE_SECONDS
            child.failures = 1 if stable else child.failures + 1
            wait = min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2 ** (child.failures - 1))
            child.last_exit, child.restart_at = code, now + wait
            logger.error("%s %s; restarting it in %.0f s", child.name, describe_exit(code), wait)
        elif now >= child.restart_at and not self._stopping.is_set():
            child.start()
            child.restarts += 1
            logger.warning("%s restarted (restart %d)", child.name, child.restarts)

    def stop(self) -> None:
        """SIGTERM every child (and its group), then SIGKILL what is left after STOP_SECONDS."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        running = [c.process for c in self.children.values() if c.process is not None and c.process.poll() is None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            _end_group(process)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is empty already
        os.killpg(process.pid, sig)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL whatever is left in a dead child's process group."""
    _signal_group(process, signal.SIGKILL)


# The supervisor of this process, if it is `serve` with children (read by /readyz).
current: Supervisor | None = None


def status() -> dict[str, str]:
    return current.status() if current is not None else {}
