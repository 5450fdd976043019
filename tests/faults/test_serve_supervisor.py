"""`manage.py serve` in the embedded default, whose Celery worker or beat is killed
with SIGKILL: the web server keeps serving, /readyz says what is down, and the child
is started again, after a pause that grows while it keeps dying."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from django.utils import timezone

from tests.conftest import ROOT, database_url_for_subprocess, free_port
from tests.faults.client import McpClient
from tools.mcp.models import McpSession

pytestmark = [pytest.mark.acceptance]


@dataclass
class Serving:
    process: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    log_path: Path

    def readyz(self) -> dict[str, Any]:
        return dict(httpx2.get(f"{self.url}/readyz", timeout=5).json())

    def child(self, name: str) -> int:
        """The pid of the `celery worker` or `celery beat` child."""
        (pid,) = [pid for pid in children_of(self.process.pid) if name in command_line(pid).split()]
        return pid


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: Callable[[], bool], seconds: float) -> float | None:
    """Seconds until `condition` held, or None if it did not within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


@pytest.fixture
def serving(transactional_db: Any, tmp_path: Path) -> Iterator[Serving]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": "",  # the embedded default: a filesystem broker under ORCHESTRA_VAR_DIR
        "ORCHESTRA_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "text",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--worker", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    serving = Serving(process, f"http://127.0.0.1:{port}", env, log_path)

    def up() -> bool:
        try:
            return httpx2.get(f"{serving.url}/healthz", timeout=1).status_code == 200
        except httpx2.TransportError:
            return False

    try:
        assert wait_for(up, 30) is not None, log_path.read_text()
        yield serving
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_killed_worker_or_beat_is_restarted_and_the_server_keeps_serving(serving: Serving, alice_token) -> None:
    assert serving.readyz() == {"status": "ok", "checks": {"database": "ok", "worker": "ok", "beat": "ok"}}
    client = McpClient(serving.url, alice_token).initialize()
    worker = serving.child("worker")
    assert wait_for(lambda: children_of(worker), 30) is not None, "the worker started no pool process"
    pool = children_of(worker)

    os.kill(worker, signal.SIGKILL)
    killed_at = time.monotonic()
    assert wait_for(lambda: serving.readyz()["checks"]["worker"] != "ok", 2) is not None
    report = serving.readyz()
    assert report["status"] == "degraded"
    assert report["checks"]["worker"].startswith("down: killed by signal 9 (SIGKILL), restarting in")
    assert serving.process.poll() is None and client.tool("get_context").ok  # still serving
    assert wait_for(lambda: serving.readyz()["checks"]["worker"] == "ok", 10) is not None
    first_restart = time.monotonic() - killed_at
    assert first_restart < 3, f"restarted after {first_restart:.1f} s"
    new_worker = serving.child("worker")
    assert new_worker != worker
    assert not any(alive(pid) for pid in pool), "the killed worker's pool processes were left behind"

    # The new worker works: a task enqueued now runs.
    from accounts.models import MCPToken

    stale = McpSession.objects.create(id="stale", token=MCPToken.objects.get(), protocol_version="2025-11-25")
    McpSession.objects.filter(pk=stale.pk).update(last_seen_at=timezone.now() - timedelta(days=2))
    enqueue = (
        "import django; django.setup()\nfrom tools.mcp.tasks import purge_stale_sessions\npurge_stale_sessions.delay()"
    )
    subprocess.run([sys.executable, "-c", enqueue], cwd=ROOT, env=serving.env, check=True, timeout=60)
    assert wait_for(lambda: not McpSession.objects.filter(pk="stale").exists(), 60) is not None

    # Killed again soon after its restart: the next pause is longer (backoff).
    os.kill(new_worker, signal.SIGKILL)
    killed_at = time.monotonic()
    assert wait_for(lambda: serving.readyz()["checks"]["worker"].endswith("restarting in 2 s"), 2) is not None
    assert wait_for(lambda: serving.readyz()["checks"]["worker"] == "ok", 10) is not None
    second_restart = time.monotonic() - killed_at
    assert second_restart >= 1.8
    print(f"\nworker restarted {first_restart:.2f} s after a kill, then {second_restart:.2f} s after a second one")

    # Beat too.
    beat = serving.child("beat")
    os.kill(beat, signal.SIGKILL)
    assert wait_for(lambda: serving.readyz()["checks"]["beat"] != "ok", 2) is not None
    assert wait_for(lambda: serving.readyz()["checks"]["beat"] == "ok", 10) is not None
    assert serving.child("beat") != beat

    # SIGTERM still stops everything, children included.
    children = children_of(serving.process.pid)
    serving.process.send_signal(signal.SIGTERM)
    assert serving.process.wait(timeout=30) == 0
    assert wait_for(lambda: not any(alive(pid) for pid in children), 10) is not None
    log = serving.log_path.read_text()
    assert "worker killed by signal 9 (SIGKILL); restarting it in 1 s" in log
    assert "worker restarted (restart 2)" in log and "beat restarted (restart 1)" in log
