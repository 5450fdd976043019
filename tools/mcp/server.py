"""The MCP server for the handshake-era revisions (2024-11-05 .. 2025-11-25),
independent of the transport: it takes JSON-RPC messages and an identity, and
gives back JSON-RPC responses. Runs in a worker thread (it touches the database).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from accounts.auth import TokenIdentity
from tools.mcp import jsonrpc, versions
from tools.mcp.dispatch import call_tool
from tools.mcp.jsonrpc import JsonRpcError, Message
from tools.mcp.models import McpSession
from tools.mcp.registry import UnknownTool, registry
from tools.mcp.sessions import session_mark_initialized, session_open

logger = logging.getLogger(__name__)

SERVER_INFO = {"name": "orchestra", "title": "Orchestra", "version": "0.1.0"}
INSTRUCTIONS = (
    "Orchestra is your team's shared workplace: memory, projects, tasks, sessions, "
    "decisions, notes, features and specs. Call get_context first."
)

NotifyFn = Callable[[dict[str, Any]], None]


@dataclass
class CallContext:
    """One HTTP request's view of the world, for the handlers below."""

    identity: TokenIdentity
    session: McpSession | None
    protocol_version: str
    notify: NotifyFn | None = None  # sends a notification on the response stream, if there is one
    cancelled: list[Any] = field(default_factory=list)  # request ids named by notifications/cancelled
    opened_session: McpSession | None = None


def handle_message(message: Message, ctx: CallContext) -> dict[str, Any] | None:
    """Answer one request (a JSON-RPC response), or take one notification (None)."""
    if message.kind == "notification":
        _handle_notification(message, ctx)
        return None
    if message.kind == "response":
        return None  # we send no requests to clients, so there is nothing to match
    try:
        handler = _METHODS.get(message.method)
        if handler is None:
            raise JsonRpcError(jsonrpc.METHOD_NOT_FOUND, f"Method not found: {message.method}")
        return jsonrpc.result_response(message.id, handler(message, ctx))
    except JsonRpcError as exc:
        return jsonrpc.error_response(message.id, exc.code, exc.message, exc.data)


def _handle_notification(message: Message, ctx: CallContext) -> None:
    if message.method == "notifications/initialized" and ctx.session is not None:
        session_mark_initialized(ctx.session)
    elif message.method == "notifications/cancelled":
        request_id = message.params.get("requestId")
        if request_id is not None:
            ctx.cancelled.append(request_id)
    # Other notifications (progress, roots/list_changed, ...) need no action.


def _initialize(message: Message, ctx: CallContext) -> dict[str, Any]:
    params = message.params
    requested = params.get("protocolVersion")
    if not isinstance(requested, str):
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, "initialize needs params.protocolVersion (a string)")
    # Answer the client's revision when we speak it, else our latest: the client
    # then decides whether it can continue.
    version = requested if requested in versions.HANDSHAKE_VERSIONS else versions.LATEST_HANDSHAKE
    ctx.opened_session = session_open(
        token_id=ctx.identity.token_id,
        protocol_version=version,
        client_info=params.get("clientInfo"),
        capabilities=params.get("capabilities"),
    )
    ctx.protocol_version = version
    return {
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": False}},
        "serverInfo": SERVER_INFO,
        "instructions": INSTRUCTIONS,
    }


def _ping(message: Message, ctx: CallContext) -> dict[str, Any]:
    return {}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))["o"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise JsonRpcError(jsonrpc.INVALID_PARAMS, "Invalid cursor: pass nextCursor from a previous page")


def _tools_list(message: Message, ctx: CallContext) -> dict[str, Any]:
    cursor = message.params.get("cursor")
    offset = _decode_cursor(cursor) if cursor is not None else 0
    page_size = settings.MCP_TOOLS_PAGE_SIZE
    specs = list(registry().values())
    page = specs[offset : offset + page_size]
    with_output = versions.structured_output(ctx.protocol_version)
    tools = []
    for spec in page:
        listing = spec.listing()
        if not with_output:
            listing.pop("outputSchema")
        tools.append(listing)
    result: dict[str, Any] = {"tools": tools}
    if offset + page_size < len(specs):
        result["nextCursor"] = _encode_cursor(offset + page_size)
    return result


def _tools_call(message: Message, ctx: CallContext) -> dict[str, Any]:
    params = message.params
    name = params.get("name")
    if not isinstance(name, str):
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, "tools/call needs params.name (a string)")
    progress_token = (params.get("_meta") or {}).get("progressToken") if isinstance(params.get("_meta"), dict) else None
    progress = None
    if progress_token is not None and ctx.notify is not None:
        notify = ctx.notify

        def progress(value: float, total: float | None, text: str | None) -> None:
            payload: dict[str, Any] = {"progressToken": progress_token, "progress": value}
            if total is not None:
                payload["total"] = total
            if text:
                payload["message"] = text
            notify({"jsonrpc": "2.0", "method": "notifications/progress", "params": payload})

    try:
        outcome = call_tool(name, params.get("arguments"), ctx.identity, progress=progress)
    except UnknownTool as exc:
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, f"Unknown tool: {exc.name}") from None
    # An error's text is its one-line message (what a model reads); its structure
    # ({"error": {code, message, details}}) rides in structuredContent, which clients
    # do not check against the output schema when isError is true.
    if outcome.is_error:
        text = outcome.structured["error"]["message"]
    else:
        text = json.dumps(outcome.structured, ensure_ascii=False)
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": outcome.is_error}
    if versions.structured_output(ctx.protocol_version):
        result["structuredContent"] = outcome.structured
    return result


_METHODS: dict[str, Callable[[Message, CallContext], dict[str, Any]]] = {
    "initialize": _initialize,
    "ping": _ping,
    "tools/list": _tools_list,
    "tools/call": _tools_call,
}
