"""The MCP server, independent of the transport: it takes one JSON-RPC message and
an identity and gives back the JSON-RPC response. Runs in a worker thread (it touches
the database).

Two eras share the tool code:
- handshake revisions (2024-11-05 .. 2025-11-25): `initialize`, `ping`, then
  `tools/list` and `tools/call` inside a transport session;
- the stateless 2026-07-28 revision: `server/discover`, `tools/list`, `tools/call`,
  each request self-contained, every result carrying `resultType`.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings

from accounts.auth import TokenIdentity
from orchestra import bounded_json
from tools.mcp import catalog, jsonrpc, toolsets, versions
from tools.mcp.dispatch import call_tool
from tools.mcp.interaction import BadRequestState, InputRequired, Interaction, read_state, sign_state
from tools.mcp.jsonrpc import JsonRpcError, Message
from tools.mcp.models import McpSession
from tools.mcp.registry import UnknownTool, registry
from tools.mcp.sessions import session_initialize, session_mark_initialized

logger = logging.getLogger(__name__)

SERVER_INFO = {"name": "orchestra", "title": "Orchestra", "version": "0.1.0"}
INSTRUCTIONS = (
    "Orchestra is your team's shared workplace: memory, projects, tasks, sessions, "
    "decisions, notes, features and specs. Call get_context first."
)
SERVER_INFO_META_KEY = "io.modelcontextprotocol/serverInfo"
# The tool list changes only with a deployment: clients may cache it for a while.
CATALOGUE_TTL_MS = 5 * 60 * 1000
DISCOVER_TTL_MS = 5 * 60 * 1000

NotifyFn = Callable[[dict[str, Any]], None]


@dataclass
class CallContext:
    """One request's view of the world, for the handlers below."""

    identity: TokenIdentity
    session: McpSession | None
    protocol_version: str
    notify: NotifyFn | None = None  # sends a notification on the response stream, if there is one
    cancel: threading.Event | None = None  # set when the client cancels or goes away
    cancelled: list[Any] = field(default_factory=list)  # request ids named by notifications/cancelled
    opened_session: McpSession | None = None
    transport: str = "streamable-http"
    # What the client narrowed the catalogue to (None: all of it); see toolsets.py.
    toolsets: toolsets.Selection | None = None
    # On the memory-only fast path (tools.mcp.fast_path): tools answer from caches.
    memory_only: bool = False

    @property
    def modern(self) -> bool:
        return self.protocol_version in versions.MODERN_VERSIONS


def handle_message(message: Message, ctx: CallContext) -> dict[str, Any] | None:
    """Answer one request (a JSON-RPC response), or take one notification (None)."""
    if message.kind == "notification":
        _handle_notification(message, ctx)
        return None
    if message.kind == "response":
        return None  # we send no requests to clients, so there is nothing to match
    methods = _MODERN_METHODS if ctx.modern else _HANDSHAKE_METHODS
    try:
        handler = methods.get(message.method)
        if handler is None:
            raise JsonRpcError(jsonrpc.METHOD_NOT_FOUND, f"Method not found: {message.method}")
        result = handler(message, ctx)
        if ctx.modern:
            result = {"resultType": "complete", **result}
            result["_meta"] = {**result.get("_meta", {}), SERVER_INFO_META_KEY: SERVER_INFO}
        return jsonrpc.result_response(message.id, result)
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
    ctx.opened_session = session_initialize(
        existing=ctx.session,
        token_id=ctx.identity.token_id,
        protocol_version=version,
        client_info=params.get("clientInfo"),
        capabilities=params.get("capabilities"),
    )
    ctx.protocol_version = version
    return {
        "protocolVersion": version,
        "capabilities": _capabilities(),
        "serverInfo": SERVER_INFO,
        "instructions": INSTRUCTIONS,
    }


def _capabilities() -> dict[str, Any]:
    # listChanged is false: the catalogue only changes with a deployment, and we
    # send no notifications/tools/list_changed.
    return {"tools": {"listChanged": False}, **catalog.capabilities()}


def _discover(message: Message, ctx: CallContext) -> dict[str, Any]:
    return {
        "supportedVersions": list(versions.MODERN_VERSIONS),
        "capabilities": _capabilities(),
        "serverInfo": SERVER_INFO,
        "instructions": INSTRUCTIONS,
        "ttlMs": DISCOVER_TTL_MS,
        "cacheScope": "public",
    }


def _ping(message: Message, ctx: CallContext) -> dict[str, Any]:
    return {}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    try:
        offset = bounded_json.loads(base64.urlsafe_b64decode(str(cursor).encode()))["o"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise JsonRpcError(jsonrpc.INVALID_PARAMS, "Invalid cursor: pass nextCursor from a previous page")


def _tools_list(message: Message, ctx: CallContext) -> dict[str, Any]:
    cursor = message.params.get("cursor")
    offset = _decode_cursor(cursor) if cursor is not None else 0
    tools, has_more = _tools_page(
        offset, versions.structured_output(ctx.protocol_version), ctx.toolsets, can_write=ctx.identity.can_write
    )
    result: dict[str, Any] = {"tools": tools}
    if has_more:
        result["nextCursor"] = _encode_cursor(offset + settings.MCP_TOOLS_PAGE_SIZE)
    return _cache_hints(result, ctx)


_PAGES: dict[tuple[Any, ...], tuple[orjson.Fragment, bool]] = {}


def _tools_page(
    offset: int, with_output: bool, selected: toolsets.Selection | None, *, can_write: bool
) -> tuple[orjson.Fragment, bool]:
    """One page of the catalogue as ready-made JSON, and whether more follow. The
    catalogue only changes when tools are registered (a new registry() dict), so pages
    are encoded once per process instead of once per request (tens of KB each)."""
    specs = registry()
    page_size = settings.MCP_TOOLS_PAGE_SIZE
    key = (id(specs), offset, page_size, with_output, selected, can_write)
    cached = _PAGES.get(key)
    if cached is None:
        # Sorted by name: a stable order across pages and processes.
        listed = toolsets.narrow(specs.values(), selected, can_write=can_write)
        tools = []
        for spec in listed[offset : offset + page_size]:
            listing = spec.listing()
            if not with_output:
                listing.pop("outputSchema", None)
            tools.append(listing)
        if len(_PAGES) > 256:  # bounded: toolsets combinations are few, but clients choose them
            _PAGES.clear()
        cached = _PAGES[key] = (orjson.Fragment(orjson.dumps(tools)), offset + page_size < len(listed))
    return cached


def _progress_reporter(
    params: dict[str, Any], ctx: CallContext
) -> Callable[[float, float | None, str | None], None] | None:
    meta = params.get("_meta")
    progress_token = meta.get("progressToken") if isinstance(meta, dict) else None
    if progress_token is None or ctx.notify is None:
        return None
    notify = ctx.notify

    def progress(value: float, total: float | None, text: str | None) -> None:
        payload: dict[str, Any] = {"progressToken": progress_token, "progress": value}
        if total is not None:
            payload["total"] = total
        if text:
            payload["message"] = text
        notify({"jsonrpc": "2.0", "method": "notifications/progress", "params": payload})

    return progress


def _tools_call(message: Message, ctx: CallContext) -> dict[str, Any]:
    params = message.params
    name = params.get("name")
    if not isinstance(name, str):
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, "tools/call needs params.name (a string)")
    _check_toolsets(name, ctx)
    interaction = None
    if ctx.modern:
        _check_required_capabilities(name, message.params, ctx)
        interaction = _interaction(params, f"tools/call:{name}", ctx)
    try:
        outcome = call_tool(
            name,
            params.get("arguments"),
            ctx.identity,
            progress=_progress_reporter(params, ctx),
            cancel=ctx.cancel,
            interaction=interaction,
            memory_only=ctx.memory_only,
        )
    except UnknownTool as exc:
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, f"Unknown tool: {exc.name}") from None
    if outcome.input_required is not None:
        return _input_required(outcome.input_required, f"tools/call:{name}", ctx)
    if outcome.content is not None:
        return {"content": outcome.content, "isError": False}
    if outcome.is_error:
        # The first block is the one-line message a model acts on; the second the
        # machine-readable {"error": {code, message, details}}. No structuredContent:
        # it would have to match the tool's output schema, and some clients check it.
        return {
            "content": [
                {"type": "text", "text": outcome.structured["error"]["message"]},
                {"type": "text", "text": orjson.dumps(outcome.structured).decode()},
            ],
            "isError": True,
        }
    text = outcome.encoded if outcome.encoded is not None else orjson.dumps(outcome.structured)
    result: dict[str, Any] = {
        "content": [{"type": "text", "text": text.decode()}],
        "isError": False,
    }
    if versions.structured_output(ctx.protocol_version):
        result["structuredContent"] = outcome.structured
    return result


def _interaction(params: dict[str, Any], target: str, ctx: CallContext) -> Interaction:
    """The input-required part of a 2026-07-28 request, checked (-32602 when bad)."""
    responses = params.get("inputResponses")
    if responses is None:
        responses = {}
    if not isinstance(responses, dict) or not all(isinstance(v, dict) for v in responses.values()):
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, "inputResponses must be an object of response objects")
    state = None
    raw_state = params.get("requestState")
    if raw_state is not None:
        if not isinstance(raw_state, str):
            raise JsonRpcError(jsonrpc.INVALID_PARAMS, "requestState must be the string the server sent")
        try:
            state = read_state(raw_state, target=target, token_id=ctx.identity.token_id)
        except BadRequestState as exc:
            raise JsonRpcError(jsonrpc.INVALID_PARAMS, str(exc)) from None
    meta = params.get("_meta") or {}
    capabilities = meta.get("io.modelcontextprotocol/clientCapabilities") if isinstance(meta, dict) else None
    return Interaction(
        input_responses=responses,
        state=state,
        client_capabilities=capabilities if isinstance(capabilities, dict) else {},
    )


def _input_required(needed: InputRequired, target: str, ctx: CallContext) -> dict[str, Any]:
    result: dict[str, Any] = {"resultType": "input_required", "inputRequests": needed.requests}
    if needed.state is not None:
        result["requestState"] = sign_state(needed.state, target=target, token_id=ctx.identity.token_id)
    return result


def _check_toolsets(name: str, ctx: CallContext) -> None:
    """A tool outside the connection's toolsets or tool names is not callable on it (it
    is not listed either); the error says why, so a client does not mistake it for a
    missing tool."""
    spec = registry().get(name)
    if spec is None or toolsets.allows(ctx.toolsets, spec):
        return  # unknown tools are answered by the call itself
    selected = ctx.toolsets
    assert selected is not None
    if selected.categories is not None and spec.category not in selected.categories:
        raise JsonRpcError(
            jsonrpc.INVALID_PARAMS,
            f"Tool {name} is in toolset {spec.category}, which this connection left out "
            f"(toolsets: {', '.join(sorted(selected.categories))})",
            {"toolset": spec.category, "toolsets": sorted(selected.categories)},
        )
    raise JsonRpcError(
        jsonrpc.INVALID_PARAMS,
        f"Tool {name} is not among the tools this connection asked for (?tools= or X-Orchestra-Tools)",
        {"tools": sorted(selected.names or ())},
    )


def _check_required_capabilities(name: str, params: dict[str, Any], ctx: CallContext) -> None:
    """2026-07-28: a tool needing a client capability the request did not declare is
    refused with -32021, never run half-way."""
    try:
        spec = registry()[name]
    except KeyError:
        return  # unknown tools are answered by the call itself
    if not spec.requires:
        return
    meta = params.get("_meta") or {}
    declared = meta.get("io.modelcontextprotocol/clientCapabilities") or {}
    missing = {key: value for key, value in spec.requires.items() if key not in declared}
    if missing:
        raise JsonRpcError(
            jsonrpc.MISSING_REQUIRED_CLIENT_CAPABILITY,
            f"{name} needs the client capabilities: {', '.join(missing)}",
            {"requiredCapabilities": missing},
        )


def _cache_hints(result: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    """2026-07-28 caching hints for the catalogue lists. Private: what a token sees may
    differ (fixture tools, toolsets). The catalogue changes only with a deployment."""
    if ctx.modern:
        result.update(ttlMs=CATALOGUE_TTL_MS, cacheScope="private")
    return result


def _require(capability: str) -> None:
    if capability not in catalog.capabilities():
        raise JsonRpcError(jsonrpc.METHOD_NOT_FOUND, f"Method not found: this server has no {capability}")


def _prompts_list(message: Message, ctx: CallContext) -> dict[str, Any]:
    _require("prompts")
    return _cache_hints({"prompts": [p.listing() for p in catalog.PROMPTS.values()]}, ctx)


def _prompts_get(message: Message, ctx: CallContext) -> dict[str, Any]:
    _require("prompts")
    name = message.params.get("name")
    prompt = catalog.PROMPTS.get(name) if isinstance(name, str) else None
    if prompt is None:
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, f"Unknown prompt: {name}", {"name": name})
    arguments = message.params.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, "prompts/get arguments must be an object")
    missing = [a["name"] for a in prompt.arguments if a.get("required") and a["name"] not in arguments]
    if missing:
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, f"Missing prompt arguments: {', '.join(missing)}")
    values = {k: str(v) for k, v in arguments.items()}
    if prompt.render_with_input is None:
        return {"description": prompt.description, "messages": prompt.render(values)}
    if not ctx.modern:
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, f"{prompt.name} needs input from the client (revision 2026-07-28)")
    target = f"prompts/get:{prompt.name}"
    try:
        messages = prompt.render_with_input(values, _interaction(message.params, target, ctx))
    except InputRequired as needed:
        return _input_required(needed, target, ctx)
    return {"description": prompt.description, "messages": messages}


def _resources_list(message: Message, ctx: CallContext) -> dict[str, Any]:
    _require("resources")
    return _cache_hints({"resources": [r.listing() for r in catalog.RESOURCES.values()]}, ctx)


def _resource_templates_list(message: Message, ctx: CallContext) -> dict[str, Any]:
    _require("resources")
    return _cache_hints({"resourceTemplates": [t.listing() for t in catalog.TEMPLATES.values()]}, ctx)


def _resources_read(message: Message, ctx: CallContext) -> dict[str, Any]:
    _require("resources")
    uri = message.params.get("uri")
    contents = catalog.find_resource(uri) if isinstance(uri, str) else None
    if not contents:
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, "Resource not found", {"uri": uri})
    return _cache_hints({"contents": contents}, ctx)


def _complete(message: Message, ctx: CallContext) -> dict[str, Any]:
    _require("completions")
    ref = message.params.get("ref") or {}
    argument = message.params.get("argument") or {}
    is_prompt_ref = isinstance(ref, dict) and ref.get("type") == "ref/prompt"
    prompt = catalog.PROMPTS.get(str(ref.get("name"))) if is_prompt_ref else None
    if prompt is None or not isinstance(argument, dict):
        raise JsonRpcError(jsonrpc.INVALID_PARAMS, "completion/complete needs a known ref/prompt and an argument")
    prefix = str(argument.get("value", ""))
    values = [v for v in prompt.completions.get(str(argument.get("name")), []) if v.startswith(prefix)]
    return {"completion": {"values": values[:100], "total": len(values), "hasMore": len(values) > 100}}


Handler = Callable[[Message, CallContext], dict[str, Any]]

_CATALOG_METHODS: dict[str, Handler] = {
    "prompts/list": _prompts_list,
    "prompts/get": _prompts_get,
    "resources/list": _resources_list,
    "resources/templates/list": _resource_templates_list,
    "resources/read": _resources_read,
    "completion/complete": _complete,
}

_HANDSHAKE_METHODS: dict[str, Handler] = {
    "initialize": _initialize,
    "ping": _ping,
    "tools/list": _tools_list,
    "tools/call": _tools_call,
    **_CATALOG_METHODS,
}
# 2026-07-28 removed initialize and ping: they answer "method not found".
_MODERN_METHODS: dict[str, Handler] = {
    "server/discover": _discover,
    "tools/list": _tools_list,
    "tools/call": _tools_call,
    **_CATALOG_METHODS,
}
