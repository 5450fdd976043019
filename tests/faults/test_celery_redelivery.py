"""Redis mode: the task a Celery worker was running when it was killed runs again
within a minute (it waited 471 s for the periodic re-enqueue), whether the whole
worker died (SIGKILL of its process group, as a container is killed) or only the
pool process running the task.

The task is a real embedding: the worker asks an OpenAI-compatible endpoint (a
stand-in here), which holds its first request until the worker has been killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from memory.models import EmbeddingStatus, Memory
from tests.conftest import ROOT, database_url_for_subprocess
from tests.faults.servers import PrivateRedis
from tests.faults.test_serve_supervisor import children_of, wait_for

pytestmark = [pytest.mark.acceptance]

REDELIVERY_SECONDS = 6


class EmbeddingsStandIn:
    """POST /embeddings: the first request is held (the worker is killed meanwhile);
    later ones get unit vectors at once."""

    def __init__(self) -> None:
        self.first_request = threading.Event()
        self.release = threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not stand_in.first_request.is_set():
                    stand_in.first_request.set()
                    stand_in.release.wait(60)
                    return
                vector = [1.0] + [0.0] * 383
                data = [{"index": n, "embedding": vector} for n in range(len(body["input"]))]
                payload = json.dumps({"data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def worker_env(transactional_db: Any, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Redis mode on a private redis-server; embeddings from the stand-in (set per test)."""
    redis_server = PrivateRedis().start()
    try:
        yield {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "REDIS_URL": redis_server.url,
            "ORCHESTRA_VAR_DIR": str(tmp_path),
            "EMBEDDING_PROVIDER": "openai",
            "EMBEDDING_MODEL": "stand-in",
            "TASK_REDELIVERY_SECONDS": str(REDELIVERY_SECONDS),
            "LOG_LEVEL": "INFO",
        }
    finally:
        redis_server.kill()


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker (one pool process) in a process group of its own."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "orchestra", "worker", "--concurrency", "1", "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def store_memory(env: dict[str, str], alice_token: str) -> str:
    """A memory stored by another process, whose embedding is queued on commit."""
    code = (
        "import django; django.setup()\n"
        "from accounts.auth import authenticate_token\n"
        "from tools.mcp.dispatch import call_tool\n"
        f"identity = authenticate_token({alice_token!r})\n"
        "outcome = call_tool('store_memory', {'content': 'Killed workers hand their tasks back.'}, identity)\n"
        "assert not outcome.is_error, outcome.structured\n"
        "print(outcome.structured['memory']['id'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def embedded(memory_id: str) -> bool:
    return Memory.unscoped.filter(pk=memory_id, embedding_status=EmbeddingStatus.READY).exists()


def run_and_kill(env: dict[str, str], alice_token: str, tmp_path: Path, stand_in: EmbeddingsStandIn, whole: bool):
    log = tmp_path / "workers.log"
    with worker(env, log) as first:
        memory_id = store_memory(env, alice_token)
        assert stand_in.first_request.wait(60), log.read_text()[-3000:]  # the task is running
        if whole:
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool process, at once
            first.wait(10)
            killed_at = time.monotonic()
            with worker(env, log):
                took = wait_for(lambda: embedded(memory_id), REDELIVERY_SECONDS + 30)
        else:
            (pool,) = children_of(first.pid)
            os.kill(pool, signal.SIGKILL)  # only the pool process running the task
            killed_at = time.monotonic()
            took = wait_for(lambda: embedded(memory_id), 30)
    assert took is not None, f"the task never ran again:\n{log.read_text()[-3000:]}"
    return time.monotonic() - killed_at


def test_the_task_of_a_killed_worker_runs_again_within_a_minute(worker_env, alice_token, tmp_path) -> None:
    stand_in = EmbeddingsStandIn()
    env = {**worker_env, "EMBEDDING_BASE_URL": stand_in.url}
    try:
        seconds = run_and_kill(env, alice_token, tmp_path, stand_in, whole=True)
    finally:
        stand_in.stop()
    # Redis's visibility timeout, then the next sweep of a live worker (every 5 s).
    assert seconds < REDELIVERY_SECONDS + 12, f"ran again {seconds:.1f} s after the kill"
    print(f"\nthe killed worker's task ran again {seconds:.1f} s later (TASK_REDELIVERY_SECONDS={REDELIVERY_SECONDS})")


def test_the_task_of_a_killed_pool_process_runs_again_at_once(worker_env, alice_token, tmp_path) -> None:
    stand_in = EmbeddingsStandIn()
    env = {**worker_env, "EMBEDDING_BASE_URL": stand_in.url}
    try:
        seconds = run_and_kill(env, alice_token, tmp_path, stand_in, whole=False)
    finally:
        stand_in.stop()
    assert seconds < 10, f"ran again {seconds:.1f} s after the kill"
    print(f"\nthe killed pool process's task ran again {seconds:.1f} s later")
