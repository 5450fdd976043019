"""tools/list and tools/call over Streamable HTTP: pagination, schemas, results,
progress notifications and cancellation."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from billing import selectors as billing_selectors
from orchestra.ttl_cache import TtlCache
from tests.conftest import asgi_request
from tests.mcp.helpers import auth, initialize, post, rpc
from tools.mcp import consumers
from tools.mcp.registry import registry

pytestmark = pytest.mark.django_db(transaction=True)


async def test_tools_list_paginates_with_an_opaque_cursor(settings, alice_token) -> None:
    settings.MCP_TOOLS_PAGE_SIZE = 4
    session = await initialize(alice_token)
    names, cursor, pages = [], None, 0
    while True:
        params = {"cursor": cursor} if cursor else {}
        result = (await post(alice_token, session, rpc("tools/list", params))).json()["result"]
        names += [t["name"] for t in result["tools"]]
        pages += 1
        cursor = result.get("nextCursor")
        if not cursor:
            break
    assert names == sorted(registry())
    assert pages == -(-len(names) // 4)
    bad = await post(alice_token, session, rpc("tools/list", {"cursor": "garbage"}))
    assert bad.json()["error"]["code"] == -32602


async def test_listed_tools_carry_schemas_and_annotations(alice_token) -> None:
    session = await initialize(alice_token)
    tools = {t["name"]: t for t in (await post(alice_token, session, rpc("tools/list", {}))).json()["result"]["tools"]}
    create = tools["create_project"]
    assert create["inputSchema"]["type"] == "object"
    assert create["inputSchema"]["required"] == ["name"]
    assert create["inputSchema"]["additionalProperties"] is False
    assert create["outputSchema"]["type"] == "object"
    assert create["annotations"] == {
        "readOnlyHint": False,
        "destructiveHint": False,
        "idempotentHint": False,
        "openWorldHint": False,
    }
    assert tools["list_projects"]["annotations"]["readOnlyHint"] is True
    assert "title" not in json.dumps(create["inputSchema"]).replace('"title"', "")  # no generated titles


async def test_tools_call_returns_structured_content_and_text(alice_token) -> None:
    session = await initialize(alice_token)
    result = (
        await post(alice_token, session, rpc("tools/call", {"name": "create_project", "arguments": {"name": "Apollo"}}))
    ).json()["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["slug"] == "apollo"
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]


async def test_tool_errors_are_results_not_protocol_errors(alice_token) -> None:
    session = await initialize(alice_token)
    result = (
        await post(alice_token, session, rpc("tools/call", {"name": "get_project", "arguments": {"project": "nope"}}))
    ).json()["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"] == "project not found: nope"
    assert "structuredContent" not in result  # it would have to match the output schema
    assert json.loads(result["content"][1]["text"])["error"]["code"] == "not_found"
    invalid = (
        await post(alice_token, session, rpc("tools/call", {"name": "create_project", "arguments": {"name": ""}}))
    ).json()["result"]
    assert (
        invalid["isError"] is True and json.loads(invalid["content"][1]["text"])["error"]["code"] == "invalid_arguments"
    )


async def test_progress_notifications_stream_before_the_result(alice_token) -> None:
    session = await initialize(alice_token)
    call = rpc(
        "tools/call",
        {"name": "test_tool_with_progress", "arguments": {"steps": 3}, "_meta": {"progressToken": "p1"}},
        request_id=9,
    )
    response = await post(alice_token, session, call)
    assert response.status == 200 and response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-accel-buffering"] == "no"
    events = [
        json.loads(line[len("data: ") :]) for line in response.body.decode().splitlines() if line.startswith("data: ")
    ]
    progress = [e for e in events if e.get("method") == "notifications/progress"]
    assert [p["params"]["progress"] for p in progress] == [1, 2, 3]
    assert all(p["params"]["progressToken"] == "p1" and p["params"]["total"] == 3 for p in progress)
    assert events[-1]["id"] == 9 and events[-1]["result"]["structuredContent"] == {"done": True, "steps": 3}


async def test_without_progress_token_the_answer_is_plain_json(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(
        alice_token, session, rpc("tools/call", {"name": "test_tool_with_progress", "arguments": {"steps": 2}})
    )
    assert response.headers["content-type"] == "application/json"
    assert response.json()["result"]["structuredContent"]["steps"] == 2


async def test_cancelled_request_gets_no_response(alice_token) -> None:
    session = await initialize(alice_token)
    slow = asyncio.create_task(
        post(
            alice_token,
            session,
            rpc("tools/call", {"name": "test_slow", "arguments": {"seconds": 3}}, request_id="slow-1"),
        )
    )
    await asyncio.sleep(0.3)
    cancel = rpc("notifications/cancelled", {"requestId": "slow-1", "reason": "user"}, request_id=None)
    started = asyncio.get_running_loop().time()
    assert (await post(alice_token, session, cancel)).status == 202
    response = await slow
    assert asyncio.get_running_loop().time() - started < 2
    assert response.status == 202 and response.body == b""


@pytest.fixture
def read_only_token(alice, acme, issue_token) -> str:
    return issue_token(alice, acme, scopes=["read"])


async def test_read_only_tokens_can_read_but_not_write(read_only_token) -> None:
    session = await initialize(read_only_token)
    write = (
        await post(read_only_token, session, rpc("tools/call", {"name": "create_project", "arguments": {"name": "X"}}))
    ).json()["result"]
    assert write["isError"] and json.loads(write["content"][1]["text"])["error"]["code"] == "permission_denied"
    read = (await post(read_only_token, session, rpc("tools/call", {"name": "list_projects", "arguments": {}}))).json()[
        "result"
    ]
    assert read["isError"] is False


async def test_response_carries_request_id(alice_token) -> None:
    response = await asgi_request(
        "POST",
        "/mcp",
        body=rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}}),
        headers=auth(alice_token, **{"x-request-id": "req-abc-123"}),
    )
    assert response.headers["x-request-id"] == "req-abc-123"


async def test_cached_requests_are_answered_without_a_worker_thread(alice_token, monkeypatch) -> None:
    session = await initialize(alice_token)
    await post(alice_token, session, rpc("tools/list", {}))  # warms the token and session caches

    async def no_thread(*args, **kwargs):
        raise AssertionError("this request should not need the database")

    monkeypatch.setattr("tools.mcp.consumers.run_db", no_thread)
    listed = await post(alice_token, session, rpc("tools/list", {}))
    assert listed.status == 200 and listed.json()["result"]["tools"]
    assert (await post(alice_token, session, rpc("ping"))).json()["result"] == {}


async def test_a_new_session_is_answered_from_memory_at_once(alice_token, monkeypatch) -> None:
    """The process that made a session remembers it: the client's first request after
    the handshake needs no lookup."""
    session = await initialize(alice_token)

    async def no_thread(*args, **kwargs):
        raise AssertionError("this request should not need the database")

    monkeypatch.setattr("tools.mcp.consumers.run_db", no_thread)
    assert (await post(alice_token, session, rpc("tools/list", {}))).status == 200


async def test_a_token_that_expires_while_cached_is_refused_not_an_error(alice_token) -> None:
    """Its cached check is still fresh, but the token's own expiry has just passed."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts import auth, tokens
    from accounts.models import MCPToken

    session = await initialize(alice_token)
    parsed = tokens.parse(alice_token)
    assert parsed is not None
    cached = auth._cache.get(parsed.digest)
    assert cached is not None
    just_now = timezone.now() - timedelta(seconds=1)
    await sync_to_async(MCPToken.objects.update)(expires_at=just_now)
    cached.token_expires_at = just_now  # as if the check had been cached a moment before
    refused = await post(alice_token, session, rpc("tools/list", {}))
    assert refused.status == 401 and refused.json()["error"] == "invalid_token"


async def test_every_request_counts_once_against_the_rate_limit(one_rate_window, settings, alice_token) -> None:
    settings.MCP_RATE_LIMIT_PER_MINUTE = 6
    session = await initialize(alice_token)  # 2 requests, through worker threads
    remaining = []
    for message in (
        rpc("tools/list", {}),
        rpc("ping"),
        rpc("tools/call", {"name": "get_context", "arguments": {}}),
        rpc("ping"),
    ):
        response = await post(alice_token, session, message)  # from memory, a thread, memory
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == [3, 2, 1, 0]
    assert (await post(alice_token, session, rpc("ping"))).status == 429


async def test_get_context_is_answered_from_memory_while_its_usage_is_fresh(alice_token, monkeypatch) -> None:
    session = await initialize(alice_token)
    call = rpc("tools/call", {"name": "get_context", "arguments": {}})
    first = (await post(alice_token, session, call)).json()["result"]  # a worker thread: reads the counters
    real_run_db = consumers.run_db

    async def no_thread(*args, **kwargs):
        raise AssertionError("get_context should not need the database now")

    monkeypatch.setattr("tools.mcp.consumers.run_db", no_thread)
    cached = (await post(alice_token, session, call)).json()["result"]
    assert cached["structuredContent"] == first["structuredContent"]
    assert cached["structuredContent"]["usage"]["projects"] == 0
    # Once the usage is older than USAGE_CACHE_SECONDS, the call goes to the database again.
    monkeypatch.setattr("tools.mcp.consumers.run_db", real_run_db)
    await sync_to_async(project_create_for)(alice_token)
    monkeypatch.setattr(billing_selectors, "_usage_cache", TtlCache())
    fresh = (await post(alice_token, session, call)).json()["result"]
    assert fresh["structuredContent"]["usage"]["projects"] == 1


def project_create_for(raw_token: str) -> None:
    from accounts.auth import authenticate_token
    from tools.mcp.dispatch import call_tool

    assert not call_tool("create_project", {"name": "Counted"}, authenticate_token(raw_token)).is_error
