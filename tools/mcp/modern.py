"""The stateless 2026-07-28 revision on /mcp.

No handshake and no transport session: every POST carries one JSON-RPC message whose
`params._meta` names the protocol version, the client's capabilities and (optionally)
its info, and whose routing headers (`MCP-Protocol-Version`, `Mcp-Method`, and
`Mcp-Name` for tools/call) must agree with the body. The checks run in the order of
the specification's ladder; the first failure answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from accounts.auth import TokenIdentity
from tools.mcp import jsonrpc, versions
from tools.mcp.http import Request
from tools.mcp.jsonrpc import JsonRpcError, Message
from tools.mcp.server import CallContext, handle_message
from tools.mcp.toolsets import Selection

PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
ROUTING_HEADERS = ("mcp-protocol-version", "mcp-method", "mcp-name")
# Methods whose target is mirrored in the Mcp-Name header.
NAME_BEARING = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

# The HTTP status of each JSON-RPC error code on this revision.
HTTP_STATUS = {
    jsonrpc.PARSE_ERROR: 400,
    jsonrpc.INVALID_REQUEST: 400,
    jsonrpc.INVALID_PARAMS: 400,
    jsonrpc.HEADER_MISMATCH: 400,
    jsonrpc.MISSING_REQUIRED_CLIENT_CAPABILITY: 400,
    jsonrpc.UNSUPPORTED_PROTOCOL_VERSION: 400,
    jsonrpc.METHOD_NOT_FOUND: 404,
    jsonrpc.INTERNAL_ERROR: 500,
}


def unsupported(requested: Any, *, with_handshake: bool = False) -> JsonRpcError:
    # The revisions of this (stateless) path, as server/discover lists them; for a
    # client that is clearly not speaking it, also those reached through initialize.
    supported = [*versions.MODERN_VERSIONS, *(versions.HANDSHAKE_VERSIONS if with_handshake else ())]
    return JsonRpcError(
        jsonrpc.UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        {"supported": supported, "requested": requested},
    )


def _check_envelope(message: Message, headers: dict[str, str]) -> None:
    """The ladder: envelope keys, then routing headers against the body, then the version."""
    meta = message.params.get("_meta")
    header_version = headers.get("mcp-protocol-version")
    if not isinstance(meta, dict) and header_version not in versions.MODERN_VERSIONS:
        # No envelope and a version header we do not know at all: not a 2026 client
        # that got its envelope wrong, but a client speaking a revision we lack.
        raise unsupported(header_version, with_handshake=True)
    if not isinstance(meta, dict):
        raise JsonRpcError(
            jsonrpc.INVALID_PARAMS,
            f"params._meta must be an object carrying {PROTOCOL_VERSION_KEY!r} and {CLIENT_CAPABILITIES_KEY!r}",
        )
    missing = [key for key in (PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY) if key not in meta]
    if missing:
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, f"params._meta is missing: {', '.join(missing)}")
    version = meta[PROTOCOL_VERSION_KEY]
    if headers.get("mcp-protocol-version") != version:
        raise JsonRpcError(
            jsonrpc.HEADER_MISMATCH, "MCP-Protocol-Version header does not match params._meta's protocol version"
        )
    if headers.get("mcp-method") != message.method:
        raise JsonRpcError(jsonrpc.HEADER_MISMATCH, "Mcp-Method header does not match the request's method")
    name_key = NAME_BEARING.get(message.method)
    if name_key is not None:
        target = message.params.get(name_key)
        if target is not None and headers.get("mcp-name") != target:
            raise JsonRpcError(jsonrpc.HEADER_MISMATCH, f"Mcp-Name header does not match params.{name_key}")
    if not isinstance(version, str):
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, "the protocol version in params._meta must be a string")
    if version not in versions.MODERN_VERSIONS:
        raise unsupported(version)


def error_reply_parts(exc: JsonRpcError, request_id: Any) -> tuple[int, dict[str, Any]]:
    return HTTP_STATUS.get(exc.code, 200), jsonrpc.error_response(request_id, exc.code, exc.message, exc.data)


def handle_modern(
    request: Request,
    identity: TokenIdentity,
    notify: Callable[[dict[str, Any]], None] | None,
    cancel: threading.Event | None,
    *,
    toolsets: Selection | None = None,
) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, JSON-RPC response or None for 202) for one 2026-07-28 POST."""
    headers = request.headers
    request_id: Any = None
    try:
        seen: set[str] = set()
        for name in request.raw_header_names:
            if name in ROUTING_HEADERS:
                if name in seen:
                    raise JsonRpcError(jsonrpc.HEADER_MISMATCH, f"{name} header given more than once")
                seen.add(name)
        items, is_batch = jsonrpc.parse_loaded(request.json)
        if is_batch:
            raise JsonRpcError(jsonrpc.INVALID_REQUEST, "Body must be a single JSON-RPC request or notification")
        message = jsonrpc.classify(items[0])
        request_id = message.id
        if message.kind == "response":
            raise JsonRpcError(jsonrpc.INVALID_REQUEST, "Body must be a single JSON-RPC request or notification")
        if message.kind == "notification":
            # Nothing to act on: cancellation on this revision is closing the stream.
            requested = headers.get("mcp-protocol-version", "")
            if requested not in versions.MODERN_VERSIONS:
                raise unsupported(requested)
            return 202, None
        _check_envelope(message, headers)
    except JsonRpcError as exc:
        return error_reply_parts(exc, request_id)
    ctx = CallContext(
        identity=identity,
        session=None,
        protocol_version=message.params["_meta"][PROTOCOL_VERSION_KEY],
        notify=notify,
        cancel=cancel,
        toolsets=toolsets,
    )
    answer = handle_message(message, ctx)
    assert answer is not None  # a request always gets an answer
    error = answer.get("error")
    status = HTTP_STATUS.get(error["code"], 200) if error else 200
    return status, answer
