"""Streamable HTTP at /mcp, minus the socket: turn an HTTP request into a reply.

Everything here is synchronous and runs in a worker thread, because it touches the
database (tokens, sessions, tools). The Channels consumer in `consumers.py` owns the
connection and calls in here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import orjson

from accounts.auth import (
    AuthenticationFailed,
    NeedsDatabase,
    TokenIdentity,
    authenticate_token,
    bearer_from_header,
)
from tools.mcp import fast_path, guards, jsonrpc, versions
from tools.mcp.http import Reply, Request, authenticate, requested_toolsets, rpc_error_reply
from tools.mcp.jsonrpc import JsonRpcError, Message
from tools.mcp.modern import handle_modern
from tools.mcp.server import CallContext, handle_message
from tools.mcp.sessions import session_close, session_for_token

logger = logging.getLogger(__name__)

SESSION_HEADER = fast_path.SESSION_HEADER
VERSION_HEADER = fast_path.VERSION_HEADER

# JSON-RPC batches exist in this revision only (2025-06-18 removed them); elsewhere a
# JSON array is refused. Each message of a batch counts against the rate limit.
BATCH_REVISION = "2025-03-26"
MAX_BATCH_MESSAGES = 50
# A batch stops running messages once its answer passes this size: the messages
# left are answered "not run" (a list page alone can be about 2 MiB on the wire).
MAX_BATCH_ANSWER_BYTES = 4 * 1024 * 1024


def handle(
    request: Request,
    notify: Callable[[dict[str, Any]], None] | None = None,
    cancel: threading.Event | None = None,
    *,
    memory_only: bool = False,
) -> Reply:
    """Answer one HTTP request to /mcp.

    With `memory_only` (on the event loop, no database), answer only what this
    process's caches allow, and raise NeedsDatabase for anything else; the caller then
    runs it again normally in a worker thread. Every rule is the same either way."""
    known: TokenIdentity | None = None
    if memory_only:
        known = fast_path.identity_if_answerable(request)
        if known is None:
            raise NeedsDatabase("not answerable from memory")
    identity, refusal, limit_headers = authenticate(request, memory_only=memory_only, identity=known)
    if refusal is not None:
        return refusal
    assert identity is not None
    if request.method == "POST":
        reply = _post(request, identity, notify, cancel, memory_only=memory_only)
    elif memory_only:
        raise NeedsDatabase(request.method)
    elif request.method == "DELETE":
        reply = _delete(request, identity)
    else:
        # Nothing is pushed outside a request's own response yet, so no GET stream.
        reply = Reply(405, {"error": "method_not_allowed"}, {"Allow": "POST, DELETE"})
    # A batch counts again once its size is known: its own headers are the fresher.
    reply.headers = {**limit_headers, **reply.headers}
    return reply


def _delete(request: Request, identity: TokenIdentity) -> Reply:
    session = session_for_token(request.headers.get(SESSION_HEADER, ""), identity.token_id)
    if session is None:
        return rpc_error_reply(404, jsonrpc.INVALID_REQUEST, "Session not found")
    session_close(session)
    return Reply(204)


def _is_discover_probe(request: Request) -> bool:
    """A header-less `server/discover` (a probe from a client that did not say its era)."""
    try:
        payload = request.json()
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("method") == "server/discover"


def _post(
    request: Request,
    identity: TokenIdentity,
    notify: Callable[[dict[str, Any]], None] | None,
    cancel: threading.Event | None,
    *,
    memory_only: bool = False,
) -> Reply:
    content_type = request.headers.get("content-type", "application/json")
    if not content_type.lower().startswith("application/json"):
        return rpc_error_reply(415, jsonrpc.INVALID_REQUEST, "Content-Type must be application/json")
    accept = request.headers.get("accept", "")
    if accept and not any(kind in accept for kind in ("application/json", "text/event-stream", "*/*")):
        return rpc_error_reply(406, jsonrpc.INVALID_REQUEST, "Accept must allow application/json")
    selected, refusal = requested_toolsets(request)
    if refusal is not None:
        return refusal

    header_version = request.headers.get(VERSION_HEADER)
    # Era routing: any version header that is not a handshake revision (2026-07-28,
    # or one we do not know) goes to the stateless path, which validates it and
    # answers -32022 with the supported list when it is not served.
    if (header_version is not None and header_version not in versions.HANDSHAKE_VERSIONS) or (
        header_version is None and _is_discover_probe(request)
    ):
        if memory_only:
            raise NeedsDatabase("2026-07-28 request")
        status, payload = handle_modern(request, identity, notify, cancel, toolsets=selected)
        return Reply(status, payload)

    try:
        items, is_batch = jsonrpc.parse_loaded(request.json)
    except JsonRpcError as exc:
        return Reply(400, exc.response())
    if is_batch:
        if memory_only:
            raise NeedsDatabase("a batch")
        if len(items) > MAX_BATCH_MESSAGES:
            return rpc_error_reply(
                400, jsonrpc.INVALID_REQUEST, f"Invalid Request: a batch holds at most {MAX_BATCH_MESSAGES} messages"
            )

    messages: list[Message | JsonRpcError] = []
    for item in items:
        try:
            messages.append(jsonrpc.classify(item))
        except JsonRpcError as exc:
            messages.append(exc)
    valid = [m for m in messages if isinstance(m, Message)]
    if memory_only and not all(fast_path.answers_from_memory(m.method, m.params, identity) for m in valid):
        raise NeedsDatabase("a method that needs the database")

    initializing = any(m.kind == "request" and m.method == "initialize" for m in valid)
    session = None
    if initializing:
        if len(items) > 1:
            return rpc_error_reply(400, jsonrpc.INVALID_REQUEST, "initialize must be sent on its own")
    elif valid:
        session_id = request.headers.get(SESSION_HEADER)
        if not session_id:
            return rpc_error_reply(400, jsonrpc.INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required")
        session = session_for_token(session_id, identity.token_id, memory_only=memory_only)
        if session is None:
            return rpc_error_reply(404, jsonrpc.INVALID_REQUEST, "Session not found")

    version = header_version or (session.protocol_version if session else versions.DEFAULT_HEADER_VERSION)
    limit_headers: dict[str, str] = {}
    if is_batch:
        if version != BATCH_REVISION:
            return rpc_error_reply(
                400,
                jsonrpc.INVALID_REQUEST,
                f"Invalid Request: JSON-RPC batches exist only in protocol revision {BATCH_REVISION} "
                f"(this request's is {version}); send one message per request",
            )
        # The request itself was counted once by authenticate(); its other messages now.
        limit = guards.organization_rate_limit(
            identity.live_organization.pk, cost=len(items) - 1, per_minute=identity.plan.rate_limit_per_minute
        )
        if limit.exceeded:
            return Reply(429, {"error": "rate_limited", "error_description": "too many requests"}, limit.headers())
        limit_headers = limit.headers()

    ctx = CallContext(
        identity=identity,
        session=session,
        protocol_version=version,
        notify=notify,
        cancel=cancel,
        toolsets=selected,
        memory_only=memory_only,
    )
    responses = _run_batch(messages, ctx, request) if is_batch else _run_single(messages[0], ctx)

    reply = Reply(202) if not responses else Reply(200, responses if is_batch else responses[0])
    if not valid and not is_batch:
        reply.status = 400  # a single message that is not JSON-RPC at all
    reply.headers.update(limit_headers)
    if ctx.opened_session is not None:
        reply.headers["Mcp-Session-Id"] = ctx.opened_session.id
    reply.session_id = session.id if session else None
    reply.cancelled = ctx.cancelled
    return reply


def _run_single(message: Message | JsonRpcError, ctx: CallContext) -> list[Any]:
    if isinstance(message, JsonRpcError):
        return [message.response()]
    answer = handle_message(message, ctx)
    return [] if answer is None else [answer]


def _run_batch(messages: list[Message | JsonRpcError], ctx: CallContext, request: Request) -> list[Any]:
    """Run a batch's messages in order, each answer encoded as it comes (orjson
    fragments, so the body is not encoded twice). Before each message after the first
    the token is checked again (through the token cache, which revocations empty at
    once): from the first message it fails, nothing more runs. Once the answer passes
    MAX_BATCH_ANSWER_BYTES nothing more runs either. A request that did not run gets an
    error naming why, so the client knows exactly which ones to send again."""
    raw_token = bearer_from_header(request.headers.get("authorization"))
    answers: list[Any] = []
    size = 0
    stop: tuple[str, dict[str, Any]] | None = None
    for index, message in enumerate(messages):
        if isinstance(message, JsonRpcError):
            answer: dict[str, Any] | None = message.response()
        else:
            if stop is None and index > 0:
                try:
                    ctx.identity = authenticate_token(raw_token)
                except AuthenticationFailed as exc:
                    logger.info("batch stopped: %s", exc)
                    stop = ("the access token stopped being valid during the batch", {"reason": "invalid_token"})
            if stop is None and size > MAX_BATCH_ANSWER_BYTES:
                stop = (
                    f"the batch's answer reached its size limit ({MAX_BATCH_ANSWER_BYTES} bytes); "
                    "send this message again in another request",
                    {"reason": "answer_too_large", "limit_bytes": MAX_BATCH_ANSWER_BYTES},
                )
            if stop is not None:
                if message.kind != "request":
                    continue
                answer = jsonrpc.error_response(message.id, jsonrpc.INVALID_REQUEST, f"Not run: {stop[0]}", stop[1])
            else:
                answer = handle_message(message, ctx)
        if answer is not None:
            encoded = orjson.dumps(answer)
            size += len(encoded)
            answers.append(orjson.Fragment(encoded))
    return answers
