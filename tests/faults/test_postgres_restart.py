"""PostgreSQL restarted under load, under a real server (its own private cluster).

During the outage every request answers at once: 200 when it could, else 503 with
Retry-After and a JSON-RPC error, never a 500 and never a wait on the pool; after it,
the pool and the LISTEN connection come back by themselves (a revocation made after
the restart still closes a stream opened before it), and every write that was
acknowledged is in the database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.acceptance.sse_reader import open_sse
from tests.conftest import ROOT, LiveServer, database_url_for_subprocess, start_server, stop_server
from tests.faults.client import McpClient
from tests.faults.servers import PrivatePostgres, private_directory, remove_directory

pytestmark = [pytest.mark.acceptance]

CLIENTS = 6
DOWN_SECONDS = 2.0


@pytest.fixture
def private_postgres(transactional_db: Any, alice_token: str) -> Iterator[PrivatePostgres]:
    """A cluster of its own holding a copy of the test database (alice's token included)."""
    cluster = PrivatePostgres(private_directory()).init()
    cluster.start()
    try:
        cluster.copy_database(database_url_for_subprocess())
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        finally:
            remove_directory(cluster.directory)


@pytest.fixture
def pg_server(private_postgres: PrivatePostgres, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path, {"DATABASE_URL": private_postgres.url(), "OUTAGE_LOG_INTERVAL_SECONDS": "60"})
    yield server
    stop_server(server)


@dataclass
class Outcome:
    at: float  # time.monotonic() when the answer came
    status: int
    seconds: float
    ok: bool
    code: int | None  # the JSON-RPC error code, if any
    retry_after: str | None
    title: str | None  # of the task an acknowledged create_task wrote


def load(server: LiveServer, token: str, stop: threading.Event, outcomes: list[Outcome], n: int) -> None:
    client = McpClient(server.url, token, timeout=20).initialize()
    written = 0
    while not stop.is_set():
        title = f"client {n} task {written}"
        for call, made in (
            (client.tool("create_task", project="restart", title=title), title),
            (client.tool("list_tasks", project="restart"), None),
        ):
            error = call.body.get("error") if isinstance(call.body, dict) else None
            outcomes.append(
                Outcome(
                    at=time.monotonic(),
                    status=call.status,
                    seconds=call.seconds,
                    ok=call.ok,
                    code=error.get("code") if isinstance(error, dict) else None,
                    retry_after=call.headers.get("retry-after"),
                    title=made if call.ok else None,
                )
            )
        written += 1


async def test_postgres_restarted_under_load(
    pg_server: LiveServer, private_postgres: PrivatePostgres, alice_token: str
) -> None:
    server = pg_server
    outcomes: list[Outcome] = []
    stop = threading.Event()
    assert McpClient(server.url, alice_token).initialize().tool("create_project", name="Restart").ok
    async with open_sse(f"{server.url}/mcp/sse", alice_token) as stream:
        assert (await stream.next()).name == "endpoint"
        clients = [
            threading.Thread(target=load, args=(server, alice_token, stop, outcomes, n), daemon=True)
            for n in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        await asyncio.sleep(1.5)
        await asyncio.to_thread(private_postgres.stop, "fast")  # ends every session, like a restart
        down_at = time.monotonic()
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(private_postgres.start)
        up_at = time.monotonic()
        await asyncio.sleep(3)
        stop.set()
        for thread in clients:
            await asyncio.to_thread(thread.join, 30)

        # Every answer was a result or a 503 that says when to come back; none waited.
        assert outcomes, "no request was made"
        for outcome in outcomes:
            assert outcome.ok or (outcome.status == 503 and outcome.code == -32010 and outcome.retry_after), outcome
        refused = [o for o in outcomes if not o.ok]
        assert refused, "the outage was not noticed"
        slowest_refusal = max(o.seconds for o in refused)
        assert slowest_refusal < 1.5, f"a 503 took {slowest_refusal:.2f} s"
        # Back by themselves, soon after the database.
        first_ok_after = min(o.at for o in outcomes if o.ok and o.at > up_at) - up_at
        assert first_ok_after < 2.0, f"first success {first_ok_after:.2f} s after PostgreSQL was back"
        assert all(o.ok for o in outcomes if o.at > up_at + 2.0), "still failing 2 s after PostgreSQL was back"
        print(
            f"\nPostgreSQL down {up_at - down_at:.1f} s: {len(outcomes)} requests, {len(refused)} answered 503 "
            f"(slowest {slowest_refusal * 1000:.0f} ms), first success {first_ok_after * 1000:.0f} ms after it was back"
        )

        # The control bus listens again: a revocation made now closes the stream at once.
        env = {**os.environ, "DATABASE_URL": private_postgres.url()}
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "manage.py", "revoketoken", alice_token],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        revoked_at = time.monotonic()
        await asyncio.wait_for(stream.ended.wait(), 5)
        assert time.monotonic() - revoked_at < 1.0

    # Nothing acknowledged is lost.
    acknowledged = {o.title for o in outcomes if o.title}
    with psycopg.connect(private_postgres.url()) as conn:
        stored = {row[0] for row in conn.execute("SELECT title FROM tasks_task")}
    assert acknowledged <= stored, f"acknowledged but missing: {sorted(acknowledged - stored)[:5]}"

    log = server.log()
    assert "Traceback" not in log, log[-3000:]
    errors = [line for line in log.splitlines() if '"level": "ERROR"' in line]
    assert 1 <= len(errors) <= 4, "\n".join(errors)
