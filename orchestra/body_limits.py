"""Request body limits, per route, enforced while the body arrives.

The ASGI application is wrapped in `BodyLimitMiddleware`, in front of the MCP
consumers and Django alike. It counts the bytes of each request as the server hands
them over and refuses the request at the first byte over its route's limit: 413 with
a JSON error and `Connection: close`, so the server stops reading the rest. A
declared Content-Length over the limit is refused before anything is read. Before,
/mcp/messages/ buffered a whole body before its check (400 MiB took a process from
336 to 711 MB, without a token), and the REST API took 2.4 MiB.

Limits are per route, each its own setting (webhooks will need 25 MiB, MCP 1 MiB):
`ROUTE_LIMITS` maps a path prefix to the setting that holds its limit; the first
match wins, and every other path has WEB_MAX_BODY_BYTES. Read on each request, so a
changed setting (a test's) applies at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from django.conf import settings

from tools.mcp.jsonrpc import INVALID_REQUEST

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# (path prefix, the setting holding its limit), most specific first.
ROUTE_LIMITS: tuple[tuple[str, str], ...] = (
    ("/mcp", "MCP_MAX_BODY_BYTES"),
    ("/api/", "API_MAX_BODY_BYTES"),
    ("/webhooks/github/", "GITHUB_WEBHOOK_MAX_BYTES"),  # GitHub sends up to 25 MiB
    ("/portability/import", "PORTABILITY_UPLOAD_MAX_BYTES"),  # an owner's export file
)
DEFAULT_LIMIT_SETTING = "WEB_MAX_BODY_BYTES"
# Routes whose clients read JSON-RPC: their refusal is a JSON-RPC error object.
JSON_RPC_PREFIX = "/mcp"


def _matches(path: str, prefix: str) -> bool:
    """`/mcp` covers /mcp, /mcp/ and /mcp/sse, not /mcpx."""
    base = prefix.rstrip("/")
    return path == base or path.startswith(base + "/")


def limit_for(path: str) -> int:
    """The largest body a request to `path` may carry, in bytes."""
    for prefix, setting in ROUTE_LIMITS:
        if _matches(path, prefix):
            return int(getattr(settings, setting))
    return int(getattr(settings, DEFAULT_LIMIT_SETTING))


def refusal(path: str, limit: int) -> tuple[int, bytes]:
    """(status, JSON body) of a 413 for `path`, in the error shape its clients read."""
    message = f"Request body too large: this endpoint accepts at most {limit} bytes"
    return 413, error_body(path, "request_too_large", message, {"limit_bytes": limit})


def error_body(path: str, code: str, message: str, details: dict[str, Any]) -> bytes:
    """A transport-level refusal as JSON: a JSON-RPC error (invalid request) on the MCP
    routes, the tool-error family (orchestra.errors) everywhere else."""
    if _matches(path, JSON_RPC_PREFIX):
        error = {"code": INVALID_REQUEST, "message": message, "data": {"reason": code, **details}}
        return orjson.dumps({"jsonrpc": "2.0", "id": None, "error": error})
    return orjson.dumps({"error": {"code": code, "message": message, "details": details}})


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimitMiddleware:
    """Wraps an ASGI application; see the module docstring."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = limit_for(path)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _send_refusal(send, path, limit)
            return

        received = 0
        refused = False
        responding = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answered here; the application is told the client went away,
                    # so it drops what it buffered and answers nothing itself.
                    refused = True
                    if not responding:
                        await _send_refusal(send, path, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal responding
            if refused:
                return  # the 413 is the response
            if message["type"] == "http.response.start":
                responding = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


async def _send_refusal(send: Send, path: str, limit: int) -> None:
    status, body = refusal(path, limit)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
