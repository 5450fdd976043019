"""Small JSON-RPC helpers for the HTTP-level MCP tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

from channels.testing import ApplicationCommunicator

from orchestra.asgi import application
from tests.conftest import DEFAULT_HEADERS, AsgiResponse, asgi_request, http_scope

_ids = itertools.count(1)


def rpc(method: str, params: dict[str, Any] | None = None, *, request_id: Any = "auto") -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    if request_id is not None:
        message["id"] = next(_ids) if request_id == "auto" else request_id
    return message


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **extra}


async def initialize(token: str, version: str = "2025-11-25") -> str:
    """Open a session; returns its Mcp-Session-Id."""
    response = await asgi_request(
        "POST",
        "/mcp",
        body=rpc(
            "initialize", {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        ),
        headers=auth(token),
    )
    assert response.status == 200, response.body
    session_id = response.headers["mcp-session-id"]
    notified = await asgi_request(
        "POST",
        "/mcp",
        body=rpc("notifications/initialized", request_id=None),
        headers=auth(token, **{"mcp-session-id": session_id, "mcp-protocol-version": version}),
    )
    assert notified.status == 202
    return session_id


async def post(
    token: str, session_id: str | None, body: Any, version: str | None = "2025-11-25", **headers: str
) -> AsgiResponse:
    extra = dict(headers)
    if session_id:
        extra["mcp-session-id"] = session_id
    if version:
        extra["mcp-protocol-version"] = version
    return await asgi_request("POST", "/mcp", body=body, headers=auth(token, **extra))


async def open_stream(token: str) -> tuple[ApplicationCommunicator, str]:
    """Open a legacy SSE stream in-process; (its communicator, its session id)."""
    headers = [*{**DEFAULT_HEADERS, "authorization": f"Bearer {token}"}.items()]
    communicator = ApplicationCommunicator(application, http_scope("GET", "/mcp/sse", headers))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert (await communicator.receive_output(5))["status"] == 200
    endpoint = (await communicator.receive_output(5))["body"].decode()
    return communicator, endpoint.split("session_id=")[1].strip()


async def next_event(communicator: ApplicationCommunicator) -> dict[str, Any]:
    """The next `message` event of a stream (keepalives skipped)."""
    while True:
        chunk = (await communicator.receive_output(5))["body"].decode()
        if chunk.startswith("event: message"):
            return json.loads(chunk.split("data: ", 1)[1])
