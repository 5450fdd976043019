"""Redis killed under a real server (REDIS_URL mode) and started again.

What does not need Redis keeps working (token checks, sessions, every tool; the rate
limit counts per process meanwhile); what does (a legacy SSE message, which travels
on the channel layer) is answered 503 with Retry-After and a JSON-RPC error; the log
says so once per interval, never with a traceback per request; and the shared
counters are back within a second of Redis (legacy streams' subscriptions within two:
channels-redis retries each second)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.acceptance.sse_reader import open_sse
from tests.conftest import LiveServer, start_server, stop_server
from tests.faults.client import McpClient
from tests.faults.servers import PrivateRedis

pytestmark = [pytest.mark.acceptance]

ROUNDS = 8  # of five calls each, while Redis is down
RATE_LIMIT = 100


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis().start()
    yield server
    server.kill()


@pytest.fixture
def redis_server(transactional_db: Any, private_redis: PrivateRedis, tmp_path: Path) -> Iterator[LiveServer]:
    env = {
        "REDIS_URL": private_redis.url,
        "MCP_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "OUTAGE_LOG_INTERVAL_SECONDS": "60",
        "OUTAGE_RETRY_AFTER_SECONDS": "2",
    }
    server = start_server(tmp_path, env)
    yield server
    stop_server(server)


def post_message(server: LiveServer, token: str, endpoint: str, request_id: int) -> httpx2.Response:
    return httpx2.post(
        f"{server.url}{endpoint}",
        json={"jsonrpc": "2.0", "id": request_id, "method": "ping"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


async def test_redis_down_then_back(redis_server: LiveServer, private_redis: PrivateRedis, alice_token: str) -> None:
    server = redis_server
    client = McpClient(server.url, alice_token).initialize()
    assert client.tool("create_project", name="Outage").ok
    async with open_sse(f"{server.url}/mcp/sse", alice_token) as stream:
        endpoint = (await stream.next()).data
        assert post_message(server, alice_token, endpoint, 1).status_code == 202
        assert (await stream.next_message())["id"] == 1

        private_redis.kill()
        written: list[str] = []
        slowest = 0.0
        for _ in range(ROUNDS):
            for call in (
                client.post("tools/list"),
                client.tool("get_context"),
                client.tool("list_tasks", project="outage"),
                client.tool("create_task", project="outage", title=f"during the outage {len(written)}"),
                # Its embedding is queued on the (dead) broker after commit.
                client.tool("store_memory", content=f"stored during the outage {len(written)}"),
            ):
                assert call.ok, call  # reads and writes need no Redis
                slowest = max(slowest, call.seconds)
            written.append(client.structured(call)["memory"]["id"])
        assert slowest < 1.0, f"a call took {slowest:.2f} s while Redis was down"

        # A legacy message needs the channel layer: 503, Retry-After, a JSON-RPC error.
        refused = post_message(server, alice_token, endpoint, 2)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["error"]["code"] == -32010
        assert refused.json()["id"] == 2

        # So does a new legacy stream (its channel is subscribed on Redis).
        with httpx2.stream(
            "GET", f"{server.url}/mcp/sse", headers={"Authorization": f"Bearer {alice_token}"}, timeout=10
        ) as opened:
            assert opened.status_code == 503 and opened.headers["retry-after"] == "2"

        # The rate limit still holds, counted by this process alone.
        statuses = [client.post("ping").status for _ in range(2 * RATE_LIMIT + 10)]
        assert 429 in statuses, "the per-process fallback never limited"

        private_redis.start()
        back_at = time.monotonic()
        # The shared counters are Redis's again within a second: the restarted Redis
        # counts from zero, so the remaining budget jumps back up.
        shared_again = None
        while time.monotonic() - back_at < 5:
            call = client.tool("get_context")
            if call.ok and int(call.headers["x-ratelimit-remaining"]) > RATE_LIMIT - 5:
                shared_again = time.monotonic() - back_at
                break
            await asyncio.sleep(0.02)
        assert shared_again is not None and shared_again < 1.0, f"Redis used again after {shared_again} s"

        # A legacy message is acknowledged (202) only once the stream's process has it;
        # until its subscription is back (channels-redis retries each second), 503: the
        # client tries again, nothing is acknowledged and lost.
        delivered, request_id = None, 100
        while time.monotonic() - back_at < 5:
            request_id += 1
            answer = post_message(server, alice_token, endpoint, request_id)
            assert answer.status_code in (202, 503), answer.text
            if answer.status_code == 202:
                delivered = time.monotonic() - back_at
                break
            await asyncio.sleep(0.05)
        assert delivered is not None and delivered < 2.0, f"streams heard again after {delivered} s"
        # The stream opened before the outage hears again, starting with that message.
        assert (await stream.next_message(timeout=5))["id"] == request_id

    # Once per interval, never a traceback per request.
    log = server.log()
    assert "Traceback" not in log, log[-3000:]
    errors = [line for line in log.splitlines() if '"level": "ERROR"' in line]
    assert 1 <= len(errors) <= 3, "\n".join(errors)
    assert any("redis" in line.lower() and "unavailable" in line for line in errors), errors
