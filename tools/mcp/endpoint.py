"""Streamable HTTP at /mcp, minus the socket: turn an HTTP request into a reply.

Everything here is synchronous and runs in a worker thread, because it touches the
database (tokens, sessions, tools). The Channels consumer in `consumers.py` owns the
connection and calls in here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
from django.conf import settings

from accounts.auth import (
    AuthenticationFailed,
    NeedsDatabase,
    TokenIdentity,
    authenticate_token,
    bearer_from_header,
)
from orchestra import bounded_json, outages
from tools.mcp import guards, jsonrpc, toolsets, versions
from tools.mcp.jsonrpc import JsonRpcError, Message
from tools.mcp.modern import handle_modern
from tools.mcp.registry import registry
from tools.mcp.server import CallContext, handle_message
from tools.mcp.sessions import is_cached as is_session_cached
from tools.mcp.sessions import session_close, session_for_token

logger = logging.getLogger(__name__)

SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"

# JSON-RPC batches exist in this revision only (2025-06-18 removed them); elsewhere a
# JSON array is refused. Each message of a batch counts against the rate limit.
BATCH_REVISION = "2025-03-26"
MAX_BATCH_MESSAGES = 50
# A batch stops running messages once its answer passes this size: the messages
# left are answered "not run" (a list page alone can be about 2 MiB on the wire).
MAX_BATCH_ANSWER_BYTES = 4 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names (the last value of a repeated header)
    body: bytes
    client_ip: str
    query_string: str = ""
    raw_header_names: list[str] = field(default_factory=list)  # lower-case, repeats kept


@dataclass
class Reply:
    status: int
    payload: Any = None  # JSON body, or None for an empty one
    headers: dict[str, str] = field(default_factory=dict)
    # Filled by POST handling for the consumer: which session the request ran in,
    # and which of that session's requests the client cancelled.
    session_id: str | None = None
    cancelled: list[Any] = field(default_factory=list)

    def body(self) -> bytes:
        return b"" if self.payload is None else orjson.dumps(self.payload)


def unauthorized(description: str) -> Reply:
    return Reply(
        401,
        {"error": "invalid_token", "error_description": description},
        {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
    )


def rpc_error_reply(status: int, code: int, message: str, data: Any = None) -> Reply:
    return Reply(status, jsonrpc.error_response(None, code, message, data))


def unavailable_reply(body: bytes = b"") -> Reply:
    """503 for a request that needs Redis or the database while it is away
    (orchestra.outages): a JSON-RPC error naming the request, and Retry-After."""
    retry_after = outages.retry_after()
    error = jsonrpc.error_response(
        _request_id(body), jsonrpc.SERVICE_UNAVAILABLE, outages.MESSAGE, {"retryAfter": int(retry_after)}
    )
    return Reply(503, error, {"Retry-After": retry_after})


def _request_id(body: bytes) -> Any:
    """The id of a single JSON-RPC request in `body`, or None."""
    try:
        payload = orjson.loads(body)
    except ValueError:
        return None
    return payload.get("id") if isinstance(payload, dict) else None


def requested_toolsets(request: Request) -> tuple[frozenset[str] | None, Reply | None]:
    """(the toolsets the request narrows the catalogue to, None) or (None, a 400 reply)."""
    try:
        return toolsets.requested_toolsets(request.query_string, request.headers), None
    except toolsets.UnknownToolset as exc:
        return None, rpc_error_reply(400, jsonrpc.INVALID_PARAMS, str(exc), {"known": toolsets.known_toolsets()})


def authenticate(
    request: Request, *, memory_only: bool = False
) -> tuple[TokenIdentity | None, Reply | None, dict[str, str]]:
    """(identity, None, rate-limit headers) when the request may go on, else (None, reply, {})."""
    retry_after = guards.auth_retry_after(request.client_ip)
    if retry_after is not None:
        return None, Reply(429, {"error": "too_many_failed_attempts"}, {"Retry-After": str(retry_after)}), {}
    query = parse_qs(request.query_string)
    if any(key in query for key in ("access_token", "token", "api_key")):
        guards.record_auth_failure(request.client_ip)
        return None, unauthorized("tokens are accepted only in the Authorization header"), {}
    try:
        identity = authenticate_token(bearer_from_header(request.headers.get("authorization")), memory_only=memory_only)
    except AuthenticationFailed as exc:
        guards.record_auth_failure(request.client_ip)
        logger.info("authentication refused: %s", exc)
        return None, unauthorized("the access token is missing, invalid, expired or revoked"), {}
    limit = guards.organization_rate_limit(identity.live_organization.pk)
    if limit.exceeded:
        return (
            None,
            Reply(429, {"error": "rate_limited", "error_description": "too many requests"}, limit.headers()),
            {},
        )
    return identity, None, limit.headers()


# Methods answered from memory alone once the token and session are cached.
# (Not notifications/initialized: marking a session initialized is a write.)
MEMORY_METHODS = frozenset({"tools/list", "ping"})


def _in_memory(method: object, params: object, identity: TokenIdentity) -> bool:
    """Whether this request needs no database: a memory method, or a call of a tool
    that says it can run without one for this caller (get_context, mostly)."""
    if method in MEMORY_METHODS:
        return True
    if method != "tools/call" or not isinstance(params, dict):
        return False
    spec = registry().get(params.get("name"))  # type: ignore[arg-type]
    return spec is not None and spec.answerable_from_memory is not None and spec.answerable_from_memory(identity)


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
    if memory_only and not _answerable_from_memory(request):
        # Checked before anything is counted (rate limits), so a request that then
        # goes to a worker thread is counted once.
        raise NeedsDatabase("not answerable from memory")
    identity, refusal, limit_headers = authenticate(request, memory_only=memory_only)
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


def _answerable_from_memory(request: Request) -> bool:
    if not settings.MCP_MEMORY_FAST_PATH or request.method != "POST":
        return False
    if request.headers.get(VERSION_HEADER, versions.DEFAULT_HEADER_VERSION) not in versions.HANDSHAKE_VERSIONS:
        return False
    try:
        payload = bounded_json.loads(request.body)
    except ValueError:  # not JSON, or too deep: answered (and counted) the usual way
        return False
    # A batch goes to the worker thread: it is counted per message, and its token is
    # checked again between messages.
    if not isinstance(payload, dict):
        return False
    try:
        identity = authenticate_token(bearer_from_header(request.headers.get("authorization")), memory_only=True)
    except (NeedsDatabase, AuthenticationFailed):  # a refusal is answered (and counted) the usual way
        return False
    if not _in_memory(payload.get("method"), payload.get("params"), identity):
        return False
    return is_session_cached(request.headers.get(SESSION_HEADER, ""))


def _delete(request: Request, identity: TokenIdentity) -> Reply:
    session = session_for_token(request.headers.get(SESSION_HEADER, ""), identity.token_id)
    if session is None:
        return rpc_error_reply(404, jsonrpc.INVALID_REQUEST, "Session not found")
    session_close(session)
    return Reply(204)


def _is_discover_probe(body: bytes) -> bool:
    """A header-less `server/discover` (a probe from a client that did not say its era)."""
    try:
        payload = bounded_json.loads(body)
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
        header_version is None and _is_discover_probe(request.body)
    ):
        if memory_only:
            raise NeedsDatabase("2026-07-28 request")
        status, payload = handle_modern(
            request.body, request.headers, request.raw_header_names, identity, notify, cancel, toolsets=selected
        )
        return Reply(status, payload)

    try:
        items, is_batch = jsonrpc.parse_body(request.body)
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
    if memory_only and not all(_in_memory(m.method, m.params, identity) for m in valid):
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
        limit = guards.organization_rate_limit(identity.live_organization.pk, cost=len(items) - 1)
        if limit.exceeded:
            return Reply(429, {"error": "rate_limited", "error_description": "too many requests"}, limit.headers())
        limit_headers = limit.headers()

    ctx = CallContext(
        identity=identity, session=session, protocol_version=version, notify=notify, cancel=cancel, toolsets=selected
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
