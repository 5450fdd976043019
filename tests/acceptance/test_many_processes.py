"""Two server processes sharing Redis (127.0.0.1:6379) and the database behave as one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import redis

from accounts.models import MCPToken
from accounts.services import token_revoke
from orchestra.db import run_db
from tests.acceptance.sse_reader import open_sse
from tests.conftest import LiveServer, start_server, stop_server

pytestmark = [pytest.mark.acceptance]

REDIS_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture(scope="module")
def pair(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[tuple[LiveServer, LiveServer]]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {"REDIS_URL": REDIS_URL}
    with django_db_blocker.unblock():
        a = start_server(tmp_path_factory.mktemp("a"), env)
        b = start_server(tmp_path_factory.mktemp("b"), env)
    yield a, b
    stop_server(a)
    stop_server(b)


@pytest.fixture
def servers(pair, transactional_db) -> tuple[LiveServer, LiveServer]:
    return pair


def rpc(method: str, params: dict[str, Any] | None = None, request_id: Any = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if request_id is not None:
        body["id"] = request_id
    return body


async def test_a_stream_on_one_process_receives_answers_posted_to_the_other(servers, alice_token) -> None:
    a, b = servers
    async with open_sse(f"{a.url}/mcp/sse", alice_token) as stream:
        endpoint = (await stream.next()).data
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice_token}"}) as http:
            init = rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}}, 1)
            assert (await http.post(f"{b.url}{endpoint}", json=init)).status_code == 202
            assert (await stream.next_message())["result"]["protocolVersion"] == "2025-06-18"
            await http.post(f"{b.url}{endpoint}", json=rpc("notifications/initialized", request_id=None))
            call = rpc("tools/call", {"name": "create_project", "arguments": {"name": "Across"}}, 2)
            assert (await http.post(f"{b.url}{endpoint}", json=call)).status_code == 202
            answer = await stream.next_message()
            assert answer["id"] == 2 and answer["result"]["structuredContent"]["slug"] == "across"


async def test_an_idle_stream_keeps_receiving(servers, alice_token) -> None:
    """Streams are addressed by their channel name, not by group membership, so no
    group expiry applies to them however long they stay open."""
    a, b = servers
    async with open_sse(f"{a.url}/mcp/sse", alice_token) as stream:
        endpoint = (await stream.next()).data
        await asyncio.sleep(3)
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice_token}"}) as http:
            await http.post(f"{b.url}{endpoint}", json=rpc("ping", request_id=5))
        assert (await stream.next_message()) == {"jsonrpc": "2.0", "id": 5, "result": {}}
        assert len(stream.comments) >= 2  # keepalives went out meanwhile


async def test_a_streamable_http_session_continues_on_the_other_process(servers, alice_token) -> None:
    a, b = servers
    headers = {"Authorization": f"Bearer {alice_token}", "Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(headers=headers) as http:
        opened = await http.post(
            f"{a.url}/mcp", json=rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}})
        )
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        listed = await http.post(f"{b.url}/mcp", json=rpc("tools/list", {}, 2), headers=session)
        assert listed.status_code == 200 and listed.json()["result"]["tools"]
        assert (await http.delete(f"{b.url}/mcp", headers=session)).status_code == 204
        assert (await http.post(f"{a.url}/mcp", json=rpc("ping", {}, 3), headers=session)).status_code == 404


async def test_cancelling_on_one_process_stops_the_request_on_the_other(servers, alice_token) -> None:
    a, b = servers
    headers = {"Authorization": f"Bearer {alice_token}", "Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        opened = await http.post(
            f"{a.url}/mcp", json=rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}})
        )
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        slow = asyncio.create_task(
            http.post(
                f"{a.url}/mcp",
                json=rpc("tools/call", {"name": "test_slow", "arguments": {"seconds": 10}}, "s1"),
                headers=session,
            )
        )
        await asyncio.sleep(0.5)
        started = time.monotonic()
        cancel = rpc("notifications/cancelled", {"requestId": "s1"}, request_id=None)
        assert (await http.post(f"{b.url}/mcp", json=cancel, headers=session)).status_code == 202
        response = await slow
        assert time.monotonic() - started < 1.5
        assert response.status_code == 202 and response.content == b""


async def test_revoking_through_one_process_closes_streams_on_both(servers, alice_token) -> None:
    a, b = servers
    async with open_sse(f"{a.url}/mcp/sse", alice_token) as on_a, open_sse(f"{b.url}/mcp/sse", alice_token) as on_b:
        await on_a.next()
        await on_b.next()
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await run_db(lambda: token_revoke(token=MCPToken.objects.get()))
        await asyncio.wait_for(asyncio.gather(on_a.ended.wait(), on_b.ended.wait()), 5)
        assert time.monotonic() - started < 1.0


def test_rate_limits_are_shared_through_redis(servers, alice_token) -> None:
    a, b = servers
    headers = {"Authorization": f"Bearer {alice_token}"}
    first = httpx2.post(f"{a.url}/api/v1/tools/get_context", json={}, headers=headers)
    second = httpx2.post(f"{b.url}/api/v1/tools/get_context", json={}, headers=headers)
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in (first, second)]
    assert remaining[1] == remaining[0] - 1, json.dumps(remaining)
