"""The HTTP edge every transport shares (Streamable HTTP, legacy SSE, REST): the
request and reply they exchange, the ASGI helpers, and the one token check.

A request's body is parsed once (`Request.json`), whoever asks first."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import channel_layers
from django.conf import settings

from accounts.auth import AuthenticationFailed, TokenIdentity, authenticate_token, bearer_from_header
from orchestra import bounded_json, outages
from tools.mcp import guards, jsonrpc, toolsets

logger = logging.getLogger(__name__)

_UNPARSED: Any = object()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names (the last value of a repeated header)
    body: bytes
    client_ip: str
    query_string: str = ""
    raw_header_names: list[str] = field(default_factory=list)  # lower-case, repeats kept
    _parsed: Any = field(default=_UNPARSED, repr=False, compare=False)

    def json(self) -> Any:
        """The body parsed with bounded_json, once per request; raises ValueError
        (bounded_json.JsonTooDeep for a body nested too deep) every time it is asked."""
        if self._parsed is _UNPARSED:
            try:
                self._parsed = bounded_json.loads(self.body)
            except ValueError as exc:
                self._parsed = exc
        if isinstance(self._parsed, ValueError):
            raise self._parsed
        return self._parsed


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


def unauthorized(description: str, *, credential_given: bool = True) -> Reply:
    """401 with the challenge MCP clients discover OAuth from (RFC 9728: where the
    protected resource metadata is; the scopes to ask for). A request that brought no
    credential gets no error code (RFC 6750 section 3.1)."""
    challenge = (
        f'Bearer resource_metadata="{settings.APP_URL}/.well-known/oauth-protected-resource/mcp", '
        f'scope="{OAUTH_SCOPES}"'
    )
    if credential_given:
        challenge += f', error="invalid_token", error_description="{description}"'
    return Reply(401, {"error": "invalid_token", "error_description": description}, {"WWW-Authenticate": challenge})


OAUTH_SCOPES = "read write"


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


def authenticate(
    request: Request, *, memory_only: bool = False, identity: TokenIdentity | None = None
) -> tuple[TokenIdentity | None, Reply | None, dict[str, str]]:
    """(identity, None, rate-limit headers) when the request may go on, else (None, reply, {}).

    The one token check of every transport: the failed-auth throttle, tokens refused
    anywhere but the Authorization header, the token itself (from this process's cache
    only, with `memory_only`; not again when the caller already resolved `identity`
    from the same header), and the organization's rate limit."""
    retry_after = guards.auth_retry_after(request.client_ip)
    if retry_after is not None:
        return None, Reply(429, {"error": "too_many_failed_attempts"}, {"Retry-After": str(retry_after)}), {}
    query = parse_qs(request.query_string)
    if any(key in query for key in ("access_token", "token", "api_key")):
        guards.record_auth_failure(request.client_ip)
        return None, unauthorized("tokens are accepted only in the Authorization header"), {}
    raw = bearer_from_header(request.headers.get("authorization"))
    try:
        if identity is None:
            identity = authenticate_token(raw, memory_only=memory_only)
    except AuthenticationFailed as exc:
        guards.record_auth_failure(request.client_ip)
        logger.info("authentication refused: %s", exc)
        if raw is None:  # no credential at all: how an OAuth client starts
            return None, unauthorized("a bearer token is required", credential_given=False), {}
        return None, unauthorized("the access token is missing, invalid, expired or revoked"), {}
    limit = guards.organization_rate_limit(
        identity.live_organization.pk, per_minute=identity.plan.rate_limit_per_minute
    )
    if limit.exceeded:
        return (
            None,
            Reply(429, {"error": "rate_limited", "error_description": "too many requests"}, limit.headers()),
            {},
        )
    return identity, None, limit.headers()


def requested_toolsets(request: Request) -> tuple[toolsets.Selection | None, Reply | None]:
    """(what the request narrows the catalogue to, None) or (None, a 400 reply)."""
    try:
        return toolsets.requested_toolsets(request.query_string, request.headers), None
    except toolsets.UnknownToolset as exc:
        return None, rpc_error_reply(400, jsonrpc.INVALID_PARAMS, str(exc), {"known": exc.known})


def scope_headers(scope: dict[str, Any]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def scope_header_names(scope: dict[str, Any]) -> list[str]:
    return [name.decode("latin-1").lower() for name, _ in scope.get("headers", [])]


def encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def request_from_scope(scope: dict[str, Any], body: bytes = b"") -> Request:
    """The transport-independent request the endpoint functions take."""
    client = scope.get("client") or ("unknown", 0)
    return Request(
        method=scope["method"],
        path=scope["path"],
        headers=scope_headers(scope),
        body=body,
        client_ip=str(client[0]),
        query_string=scope.get("query_string", b"").decode("latin-1"),
        raw_header_names=scope_header_names(scope),
    )


def reply_headers(reply: Reply, body: bytes, extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
    """The headers of a whole (not streamed) reply: its own, its type and its length
    (a length saves the server chunked framing)."""
    headers = {**(extra or {}), **reply.headers, "Content-Length": str(len(body))}
    if reply.payload is not None:
        headers["Content-Type"] = "application/json"
    return encode_headers(headers)


def host_origin_refusal(headers: dict[str, str]) -> Reply | None:
    """403 for a Host or Origin that is neither APP_URL nor local (DNS rebinding)."""
    if not guards.host_allowed(headers.get("host")) or not guards.origin_allowed(headers.get("origin")):
        return Reply(403, {"error": "forbidden", "error_description": "Host or Origin not allowed"})
    return None


def sse_event(payload: dict[str, Any], event: str = "message") -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


async def serve_directly(consumer: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Drive an HTTP consumer that listens on no channel layer the plain ASGI way:
    each message it receives goes to its handler, in order, until it stops (its
    handlers raise StopConsumer, as on a disconnect, which the server also reports
    once a response is complete). What Channels' own dispatch loop does for it, less a
    task and a wait per message: on /mcp, that loop and Channels' routers were a
    quarter of a small request's time."""
    consumer.scope = scope
    consumer.channel_layer = None
    consumer.base_send = send
    try:
        while True:
            await consumer.dispatch(await receive())
    except StopConsumer:
        pass


class DirectDispatchMixin:
    """Channels closes old database connections around every message with a thread
    hop; our database work runs in run_db, which returns its connection itself."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


# The alias of "no channel layer" for consumers that never listen on one. Registered
# as None so Channels answers it from its dict; an unknown alias would make it look
# the alias up in settings on every request (5% of a small request's CPU).
NO_LAYER = "__none__"
channel_layers.backends.setdefault(NO_LAYER, None)
