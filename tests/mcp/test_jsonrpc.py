"""JSON-RPC 2.0 and the handshake over Streamable HTTP, through the ASGI app."""

from __future__ import annotations

import json

import pytest

from orchestra.db import run_db
from tests.conftest import asgi_request
from tests.mcp.helpers import auth, initialize, post, rpc
from tools.mcp.models import McpSession

pytestmark = pytest.mark.django_db(transaction=True)


async def test_initialize_negotiates_each_supported_revision(alice_token) -> None:
    for version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"):
        response = await post(
            alice_token, None, rpc("initialize", {"protocolVersion": version, "capabilities": {}}), version=None
        )
        assert response.status == 200
        result = response.json()["result"]
        assert result["protocolVersion"] == version
        assert result["capabilities"]["tools"] == {"listChanged": False}
        assert result["serverInfo"]["name"] == "orchestra"
        assert response.headers["mcp-session-id"]


async def test_initialize_with_unknown_revision_answers_our_latest(alice_token) -> None:
    response = await post(
        alice_token, None, rpc("initialize", {"protocolVersion": "1999-01-01", "capabilities": {}}), version=None
    )
    assert response.json()["result"]["protocolVersion"] == "2025-11-25"


async def test_initialize_without_protocol_version_is_invalid_params(alice_token) -> None:
    response = await post(alice_token, None, rpc("initialize", {"capabilities": {}}), version=None)
    assert response.json()["error"]["code"] == -32602


async def test_parse_error(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, "{not json")
    assert response.status == 400
    body = response.json()
    assert body["error"]["code"] == -32700 and body["id"] is None


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "1.0", "method": "ping", "id": 1},
        {"method": "ping", "id": 1},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "method": 5, "id": 1},
        {"jsonrpc": "2.0", "method": "ping", "id": {"a": 1}},
        {"jsonrpc": "2.0", "method": "ping", "id": 1, "params": [1, 2]},
        42,
    ],
)
async def test_invalid_request(alice_token, message) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, message)
    assert response.status == 400
    assert response.json()["error"]["code"] == -32600


async def test_unknown_method(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("no/such/method", {}, request_id=7))
    assert response.status == 200
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32601, "message": "Method not found: no/such/method"},
    }


async def test_ping_and_string_ids(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("ping", request_id="abc"))
    assert response.json() == {"jsonrpc": "2.0", "id": "abc", "result": {}}


async def test_unknown_tool_is_invalid_params(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("tools/call", {"name": "no_such_tool", "arguments": {}}))
    assert response.json()["error"]["code"] == -32602


async def test_internal_error_has_no_traceback_or_detail(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("tools/call", {"name": "test_internal_error", "arguments": {}}))
    assert response.status == 500
    body = response.json()
    assert body["error"]["code"] == -32603 and body["error"]["message"] == "Internal error"
    assert "Traceback" not in response.body.decode() and "secret internal detail" not in response.body.decode()


async def test_batch_gets_one_answer_per_request(alice_token) -> None:
    # Batches exist in 2025-03-26 only (tests/mcp/test_batches.py).
    session = await initialize(alice_token, "2025-03-26")
    batch = [
        rpc("ping", request_id=1),
        rpc("notifications/initialized", request_id=None),
        {"jsonrpc": "2.0"},
        rpc("nope", request_id=2),
    ]
    response = await post(alice_token, session, batch, version="2025-03-26")
    answers = response.json()
    assert [a.get("id") for a in answers] == [1, None, 2]
    assert answers[1]["error"]["code"] == -32600 and answers[2]["error"]["code"] == -32601


async def test_notifications_are_accepted_with_202(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("notifications/roots/list_changed", request_id=None))
    assert response.status == 202 and response.body == b""


async def test_missing_version_header_means_2025_03_26(alice_token) -> None:
    initialized = await post(
        alice_token, None, rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}}), version=None
    )
    session = initialized.headers["mcp-session-id"]
    # With the header: a 2025-06-18+ answer carries structuredContent.
    with_header = await post(alice_token, session, rpc("tools/call", {"name": "get_context", "arguments": {}}))
    assert "structuredContent" in with_header.json()["result"]
    listed = await post(alice_token, session, rpc("tools/list", {}), version="2025-03-26")
    assert all("outputSchema" not in t for t in listed.json()["result"]["tools"])


async def test_invalid_version_header_is_400(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("ping"), version="2099-99-99")
    assert response.status == 400
    assert "2025-11-25" in json.dumps(response.json())


async def test_requests_need_a_session(alice_token) -> None:
    response = await post(alice_token, None, rpc("tools/list", {}))
    assert response.status == 400
    unknown = await post(alice_token, "no-such-session", rpc("tools/list", {}))
    assert unknown.status == 404


@pytest.fixture
def alice_second_token(alice, acme, issue_token) -> str:
    return issue_token(alice, acme, name="second")


async def test_a_session_answers_only_the_token_that_opened_it(alice_token, alice_second_token) -> None:
    session = await initialize(alice_token)
    other = alice_second_token  # same user, another token
    response = await post(other, session, rpc("ping"))
    assert response.status == 404


async def test_delete_ends_the_session(alice_token) -> None:
    session = await initialize(alice_token)
    deleted = await asgi_request("DELETE", "/mcp", headers=auth(alice_token, **{"mcp-session-id": session}))
    assert deleted.status == 204
    assert (await post(alice_token, session, rpc("ping"))).status == 404
    assert await run_db(McpSession.objects.filter(pk=session, closed_at__isnull=False).exists)


async def test_get_answers_405(alice_token) -> None:
    response = await asgi_request("GET", "/mcp", headers=auth(alice_token))
    assert response.status == 405 and "POST" in response.headers["allow"]
