"""Small JSON-RPC helpers for the HTTP-level MCP tests."""

from __future__ import annotations

import itertools
from typing import Any

from tests.conftest import AsgiResponse, asgi_request

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
