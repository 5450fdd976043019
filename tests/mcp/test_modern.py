"""The stateless 2026-07-28 revision on /mcp."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.testing import ApplicationCommunicator

from orchestra.asgi import application
from orchestra.db import run_db
from tests.conftest import DEFAULT_HEADERS, asgi_request, http_scope
from tests.mcp.helpers import auth
from tools.projects.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

V = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {}}


def request(
    method: str, params: dict[str, Any] | None = None, request_id: Any = 1, meta: Any = "default"
) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": dict(params or {})}
    if meta == "default":
        body["params"]["_meta"] = dict(META)
    elif meta is not None:
        body["params"]["_meta"] = meta
    return body


def headers_for(body: dict[str, Any], token: str, **overrides: str | None) -> dict[str, str]:
    headers = {"mcp-protocol-version": V, "mcp-method": body.get("method", "")}
    if body.get("method") == "tools/call":
        headers["mcp-name"] = body["params"].get("name", "")
    headers.update(overrides)  # type: ignore[arg-type]
    return auth(token, **{k: v for k, v in headers.items() if v is not None})


async def send(token: str, body: Any, **overrides: str | None):
    hdrs = headers_for(body if isinstance(body, dict) else {}, token, **overrides)
    return await asgi_request("POST", "/mcp", body=body, headers=hdrs)


async def test_discover(alice_token) -> None:
    response = await send(alice_token, request("server/discover"))
    assert response.status == 200 and "mcp-session-id" not in response.headers
    result = response.json()["result"]
    assert V in result["supportedVersions"]
    assert result["capabilities"]["tools"] == {"listChanged": False}
    assert result["resultType"] == "complete"
    assert result["ttlMs"] > 0 and result["cacheScope"] in ("public", "private")
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "orchestra"


async def test_tools_list_is_cacheable_and_stable(alice_token) -> None:
    first = (await send(alice_token, request("tools/list"))).json()["result"]
    second = (await send(alice_token, request("tools/list"))).json()["result"]
    assert first["tools"] == second["tools"]
    names = [t["name"] for t in first["tools"]]
    assert names == sorted(names)
    assert first["resultType"] == "complete" and first["ttlMs"] > 0 and first["cacheScope"] == "private"


async def test_tools_call(alice_token) -> None:
    body = request("tools/call", {"name": "create_project", "arguments": {"name": "Modern"}})
    result = (await send(alice_token, body)).json()["result"]
    assert result["resultType"] == "complete" and result["isError"] is False
    assert result["structuredContent"]["slug"] == "modern"
    failing = (
        await send(alice_token, request("tools/call", {"name": "get_project", "arguments": {"project": "nope"}}))
    ).json()["result"]
    assert failing["isError"] is True and failing["resultType"] == "complete"


@pytest.mark.parametrize(
    "overrides",
    [
        {"mcp-method": "tools/list"},
        {"mcp-method": None},
        {"mcp-name": "other_tool"},
        {"mcp-name": None},
        {"mcp-protocol-version": "2025-11-25"},
    ],
)
async def test_routing_headers_must_match_the_body(alice_token, overrides) -> None:
    body = request("tools/call", {"name": "get_context", "arguments": {}})
    response = await send(alice_token, body, **overrides)
    if overrides.get("mcp-protocol-version") == "2025-11-25":
        # A handshake-era header sends the request down the handshake path: no session.
        assert response.status == 400
        return
    assert response.status == 400
    assert response.json()["error"]["code"] == -32020


async def test_envelope_version_must_be_served(alice_token) -> None:
    body = request("tools/list", meta={**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"})
    response = await send(alice_token, body, **{"mcp-protocol-version": "2099-01-01"})
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert V in error["data"]["supported"] and error["data"]["requested"] == "2099-01-01"


async def test_missing_envelope_is_invalid_params(alice_token) -> None:
    response = await send(alice_token, request("tools/list", meta=None))
    assert response.status == 400 and response.json()["error"]["code"] == -32602
    partial = await send(alice_token, request("tools/list", meta={"io.modelcontextprotocol/protocolVersion": V}))
    assert partial.status == 400 and partial.json()["error"]["code"] == -32602


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "resources/subscribe", "no/such"])
async def test_removed_and_unknown_methods_are_404(alice_token, method) -> None:
    response = await send(alice_token, request(method, {"protocolVersion": "2025-11-25", "capabilities": {}}))
    assert response.status == 404
    assert response.json()["error"]["code"] == -32601


async def test_notifications_are_acknowledged(alice_token) -> None:
    body = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}
    response = await send(alice_token, body, **{"mcp-method": "notifications/cancelled"})
    assert response.status == 202


async def test_batches_and_duplicate_routing_headers_are_refused(alice_token) -> None:
    batch = [request("tools/list"), request("tools/list", request_id=2)]
    response = await asgi_request(
        "POST", "/mcp", body=batch, headers=auth(alice_token, **{"mcp-protocol-version": V, "mcp-method": "tools/list"})
    )
    assert response.status == 400 and response.json()["error"]["code"] == -32600
    duplicated = await asgi_request(
        "POST",
        "/mcp",
        body=request("tools/list"),
        headers=auth(alice_token, **{"mcp-protocol-version": V, "mcp-method": "tools/list"}),
        extra_headers=[("mcp-method", "tools/list")],
    )
    assert duplicated.status == 400 and duplicated.json()["error"]["code"] == -32020


async def test_progress_streams_then_answers(alice_token) -> None:
    body = request(
        "tools/call",
        {"name": "test_tool_with_progress", "arguments": {"steps": 2}},
        meta={**META, "progressToken": "t"},
    )
    response = await send(alice_token, body)
    assert response.headers["content-type"] == "text/event-stream", response.body
    events = [json.loads(line[6:]) for line in response.body.decode().splitlines() if line.startswith("data: ")]
    assert [e["params"]["progress"] for e in events if e.get("method") == "notifications/progress"] == [1, 2]
    assert events[-1]["result"]["resultType"] == "complete"


async def test_a_closed_stream_cancels_its_request_and_rolls_it_back(alice_token) -> None:
    body = request("tools/call", {"name": "test_slow_write", "arguments": {"name": "Never", "seconds": 1.5}})
    headers = {**DEFAULT_HEADERS, "accept": "application/json", **headers_for(body, alice_token)}
    scope = http_scope("POST", "/mcp", list(headers.items()))
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": json.dumps(body).encode(), "more_body": False})
    await asyncio.sleep(0.4)
    assert await run_db(Project.unscoped.count) == 0  # not committed yet
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(5)
    await asyncio.sleep(1.6)  # the worker thread finishes its sleep, then rolls back
    assert await run_db(Project.unscoped.count) == 0


async def test_input_required_round_trip_with_a_signed_state(alice_token) -> None:
    name = "test_input_required_result_request_state"
    first = (await send(alice_token, request("tools/call", {"name": name, "arguments": {}}))).json()["result"]
    assert first["resultType"] == "input_required" and "confirm" in first["inputRequests"]
    state = first["requestState"]
    answer = {"action": "accept", "content": {"ok": True}}
    params = {"name": name, "arguments": {}, "inputResponses": {"confirm": answer}, "requestState": state}
    done = (await send(alice_token, request("tools/call", params))).json()["result"]
    assert done["resultType"] == "complete" and "state-ok" in done["content"][0]["text"]
    tampered = await send(alice_token, request("tools/call", {**params, "requestState": state[:-2] + "xx"}))
    assert tampered.status == 400 and tampered.json()["error"]["code"] == -32602
    elsewhere = {**params, "name": "test_input_required_result_tampered_state"}  # another tool's state
    assert (await send(alice_token, request("tools/call", elsewhere))).json()["error"]["code"] == -32602


@pytest.fixture
def bob_token(bob, acme, issue_token) -> str:
    return issue_token(bob, acme)


async def test_a_request_state_is_bound_to_its_token(alice_token, bob_token) -> None:
    name = "test_input_required_result_request_state"
    state = (await send(alice_token, request("tools/call", {"name": name, "arguments": {}}))).json()["result"][
        "requestState"
    ]
    params = {
        "name": name,
        "arguments": {},
        "inputResponses": {"confirm": {"content": {"ok": True}}},
        "requestState": state,
    }
    stolen = await send(bob_token, request("tools/call", params))
    assert stolen.json()["error"]["code"] == -32602


async def test_bad_input_responses_are_invalid_params(alice_token) -> None:
    params = {"name": "test_input_required_result_elicitation", "arguments": {}, "inputResponses": ["nope"]}
    response = await send(alice_token, request("tools/call", params))
    assert response.status == 400 and response.json()["error"]["code"] == -32602
