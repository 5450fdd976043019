"""The legacy HTTP+SSE transport (introduced with 2024-11-05), which our public docs
promise and older clients use.

- `GET /mcp/sse` opens a stream. Its first event, `endpoint`, names where to post:
  `/mcp/messages/?session_id=…`. The session row records the stream's channel-layer
  name, so a POST that lands on any process reaches it.
- `POST /mcp/messages/?session_id=…` checks the token (it must be the one that opened
  the stream), hands the message to the stream through the channel layer, and answers
  `202 Accepted`. The stream's own process runs the request and sends the answer as a
  `message` event, so requests of one session are cancelled where they run.
- Keepalive comments keep proxies from closing an idle stream. Revoking the token
  (or suspending the organization, removing the member...) closes it at once, through
  the control bus.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from accounts import tokens
from accounts.auth import AuthenticationFailed, TokenIdentity, authenticate_digest, bearer_from_header, reauthenticate
from orchestra import outages
from orchestra.db import run_db
from orchestra.logging import new_request_id, request_id_var
from orchestra.pubsub import send_delivered
from tools.mcp import control, http, jsonrpc, versions
from tools.mcp.http import (
    NO_LAYER,
    DirectDispatchMixin,
    encode_headers,
    host_origin_refusal,
    reply_headers,
    request_from_scope,
    scope_headers,
    sse_event,
)
from tools.mcp.jsonrpc import JsonRpcError, Message
from tools.mcp.models import McpSession
from tools.mcp.server import CallContext, handle_message
from tools.mcp.sessions import forget_session, session_for_token, session_open_stream, session_touch
from tools.mcp.toolsets import Selection

logger = logging.getLogger(__name__)

MESSAGES_PATH = "/mcp/messages/"
SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


@dataclass
class OpenedStream:
    identity: TokenIdentity
    token_digest: str  # each message is checked again against the token's digest, never the token
    session: McpSession
    toolsets: Selection | None  # fixed for the stream's life: its messages carry no URL


def open_stream(request: http.Request, channel_name: str) -> OpenedStream | http.Reply:
    """The stream's identity, session and toolsets, or the reply refusing it."""
    identity, refusal, _ = http.authenticate(request)
    if refusal is not None:
        return refusal
    assert identity is not None
    selected, refusal = http.requested_toolsets(request)
    if refusal is not None:
        return refusal
    session = session_open_stream(token_id=identity.token_id, channel_name=channel_name)
    parsed = tokens.parse(bearer_from_header(request.headers.get("authorization")) or "")
    assert parsed is not None  # authenticate accepted it
    return OpenedStream(identity=identity, token_digest=parsed.digest, session=session, toolsets=selected)


def mark_stream_closed(session_id: str) -> None:
    McpSession.objects.filter(pk=session_id, closed_at__isnull=True).update(closed_at=timezone.now())


# A stream uses its session without looking it up again; while the stream stays open,
# the session's last_seen_at is refreshed this often, so that the daily purge of idle
# sessions (tools.mcp.tasks) leaves it alone.
SESSION_TOUCH_SECONDS = 3600.0


class LegacySseConsumer(DirectDispatchMixin, AsyncHttpConsumer):
    """GET /mcp/sse: one long-lived stream per client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session: McpSession | None = None
        self.identity: TokenIdentity | None = None
        self.token_digest = ""
        self.toolsets: Selection | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}  # running requests by JSON of their id
        self.keepalive: asyncio.Task[None] | None = None
        self.expiry: asyncio.Task[None] | None = None
        self.closed = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # With REDIS_URL, the stream's channel is subscribed on Redis before any of our
        # code runs: while Redis is away, that is a 503 like any other outage.
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await super().__call__(scope, receive, tracking_send)
        except Exception as exc:
            if started or not outages.report(exc):
                raise
            reply = http.unavailable_reply()
            body = reply.body()
            await send({"type": "http.response.start", "status": 503, "headers": reply_headers(reply, body)})
            await send({"type": "http.response.body", "body": body})

    async def http_request(self, message: dict[str, Any]) -> None:
        if message.get("more_body"):
            return
        headers = scope_headers(self.scope)
        request_id_var.set(new_request_id(headers.get("x-request-id")))
        refusal = host_origin_refusal(headers)
        if refusal is None and self.scope["method"] != "GET":
            refusal = http.Reply(405, {"error": "method_not_allowed"}, {"Allow": "GET"})
        opened: OpenedStream | http.Reply
        if refusal is not None:
            opened = refusal
        else:
            try:
                opened = await run_db(open_stream, request_from_scope(self.scope), self.channel_name)
            except Exception as exc:
                if not outages.report(exc):
                    raise
                opened = http.unavailable_reply()
        if isinstance(opened, http.Reply):
            body = opened.body()
            await self.send_headers(status=opened.status, headers=reply_headers(opened, body))
            await self.send_body(body)
            raise StopConsumer()
        identity, session = opened.identity, opened.session
        self.identity, self.session, self.toolsets = identity, session, opened.toolsets
        self.token_digest = opened.token_digest
        control.listener().streams[self.channel_name] = control.Stream(
            token_id=identity.token_id,
            user_id=identity.user_id,
            organization_id=identity.live_organization.pk,
            close=self.close_stream,
        )
        await self.send_headers(status=200, headers=encode_headers(SSE_HEADERS))
        await self.send_body(
            f"event: endpoint\ndata: {MESSAGES_PATH}?session_id={session.id}\n\n".encode(), more_body=True
        )
        self.keepalive = asyncio.create_task(self._keepalive())
        if identity.expires_at is not None:
            self.expiry = asyncio.create_task(self._close_at_expiry(identity.expires_at))

    @property
    def session_id(self) -> str | None:
        return self.session.id if self.session is not None else None

    async def _keepalive(self) -> None:
        touched = time.monotonic()
        while True:
            await asyncio.sleep(settings.MCP_SSE_KEEPALIVE_SECONDS)
            await self.send_body(b": keepalive\n\n", more_body=True)
            if self.session_id and time.monotonic() - touched >= SESSION_TOUCH_SECONDS:
                touched = time.monotonic()
                await run_db(session_touch, self.session_id)

    async def _close_at_expiry(self, expires_at: datetime) -> None:
        """A token that expires ends its stream at that moment, as a revocation would
        (nothing else would: an idle stream sends no request to be refused)."""
        assert self.identity is not None
        while True:
            await asyncio.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()))
            try:
                # Its expiry may have been moved meanwhile: the token row decides.
                extended = (await run_db(reauthenticate, self.identity.token_id)).expires_at
            except Exception:  # expired, revoked, ... or the database cannot say: fail closed
                break
            if extended is None or extended <= expires_at:
                break
            expires_at = extended
        await self.close_stream()

    async def close_stream(self) -> None:
        """End the response (revocation, expiry, or the client went away)."""
        if self.closed:
            return
        self.closed = True
        current = asyncio.current_task()
        for task in [*self.tasks.values(), *(t for t in (self.keepalive, self.expiry) if t is not None)]:
            if task is not current:  # the expiry watcher closes the stream itself
                task.cancel()
        control.listener().streams.pop(self.channel_name, None)
        if self.session_id:
            forget_session(self.session_id)
            await run_db(mark_stream_closed, self.session_id)
        try:
            await self.send_body(b"", more_body=False)
        except Exception:  # the connection may be gone already
            logger.debug("stream already closed", exc_info=True)

    async def http_disconnect(self, message: dict[str, Any]) -> None:
        await self.close_stream()
        raise StopConsumer()

    async def mcp_close(self, event: dict[str, Any]) -> None:
        await self.close_stream()

    async def mcp_incoming(self, event: dict[str, Any]) -> None:
        """A message posted to /mcp/messages/ for this stream (from any process)."""
        if self.closed or self.identity is None:
            return
        try:
            # Checked when it was posted; parsed again here with the same bounds, so
            # nothing a post carries can end the stream.
            items, is_batch = jsonrpc.parse_body(event["body"])
            if is_batch:
                raise JsonRpcError(jsonrpc.INVALID_REQUEST, "batches are not supported on this transport")
            message = jsonrpc.classify(items[0])
        except JsonRpcError as exc:
            await self.send_body(sse_event(exc.response()), more_body=True)
            return
        if message.kind == "notification" and message.method == "notifications/cancelled":
            task = self.tasks.get(json.dumps(message.params.get("requestId")))
            if task is not None:
                task.cancel()
            return
        task = asyncio.create_task(self._run(message))
        if message.kind == "request":
            key = json.dumps(message.id)
            self.tasks[key] = task
            task.add_done_callback(lambda _: self.tasks.pop(key, None))

    async def _run(self, message: Message) -> None:
        loop = asyncio.get_running_loop()
        cancel = threading.Event()

        def notify(payload: dict[str, Any]) -> None:  # from the worker thread
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._send_event(payload)))

        assert self.session is not None  # set when the stream opened
        try:
            answer = await run_db(_process, self.session, self.token_digest, message, notify, cancel, self.toolsets)
        except asyncio.CancelledError:
            cancel.set()
            return
        except AuthenticationFailed:
            await self.close_stream()
            return
        except Exception as exc:
            code, text = jsonrpc.SERVICE_UNAVAILABLE, outages.MESSAGE
            if not outages.report(exc):
                logger.exception("internal error on the SSE stream")
                code, text = jsonrpc.INTERNAL_ERROR, "Internal error"
            answer = jsonrpc.error_response(message.id, code, text) if message.kind == "request" else None
        if answer is not None:
            await self._send_event(answer)

    async def _send_event(self, payload: dict[str, Any]) -> None:
        if not self.closed:
            await self.send_body(sse_event(payload), more_body=True)


def _process(
    session: McpSession,
    token_digest: str,
    message: Message,
    notify: Any,
    cancel: Any,
    toolsets: Selection | None,
) -> dict[str, Any] | None:
    """Run one message of a legacy SSE session (in a worker thread). The session is the
    stream's own (only the stream closes it); the token may have lost access since the
    stream opened, so it is checked again, through the same cache as a POST (at most a
    second old, emptied at once by revocations)."""
    identity = authenticate_digest(token_digest)
    ctx = CallContext(
        identity=identity,
        session=session,
        protocol_version=session.protocol_version or versions.HANDSHAKE_VERSIONS[0],
        notify=notify,
        cancel=cancel,
        transport="sse",
        toolsets=toolsets,
    )
    return handle_message(message, ctx)


def post_message(request: http.Request) -> tuple[http.Reply, str | None]:
    """Check a POST to /mcp/messages/; (reply, the stream's channel to forward to)."""
    identity, refusal, limit_headers = http.authenticate(request)
    if refusal is not None:
        return refusal, None
    assert identity is not None
    session_id = (parse_qs(request.query_string).get("session_id") or [""])[0]
    session = session_for_token(session_id, identity.token_id)
    if session is None or session.transport != "sse":
        return http.Reply(404, {"error": "session not found"}, limit_headers), None
    try:
        items, is_batch = jsonrpc.parse_body(request.body)
        if is_batch:
            raise JsonRpcError(jsonrpc.INVALID_REQUEST, "batches are not supported on this transport")
        jsonrpc.classify(items[0])
    except JsonRpcError as exc:
        return http.Reply(400, exc.response(), limit_headers), None
    return http.Reply(202, None, limit_headers), session.channel_name


class LegacyMessagesConsumer(DirectDispatchMixin, AsyncHttpConsumer):
    """POST /mcp/messages/?session_id=…: forwards to the stream, answers 202."""

    channel_layer_alias = NO_LAYER  # sends through the default layer; never listens

    async def handle(self, body: bytes) -> None:
        # The body's size was bounded while it arrived (orchestra.body_limits).
        headers = scope_headers(self.scope)
        request_id_var.set(new_request_id(headers.get("x-request-id")))
        refusal = host_origin_refusal(headers)
        if refusal is None and self.scope["method"] != "POST":
            refusal = http.Reply(405, {"error": "method_not_allowed"}, {"Allow": "POST"})
        reply = refusal if refusal is not None else await self._forward(body)
        body = reply.body() if reply.payload is not None else b"Accepted" if reply.status == 202 else b""
        await self.send_response(reply.status, body, headers=reply_headers(reply, body))

    async def _forward(self, body: bytes) -> http.Reply:
        """Check the post and hand it to its stream; 503 while the database (the
        check) or Redis (the channel layer, with REDIS_URL) is away, or when the
        stream's process did not get the message (only an acknowledged post is sure
        to be answered)."""
        try:
            reply, channel = await run_db(post_message, request_from_scope(self.scope, body))
            if channel:
                layer = get_channel_layer()
                assert layer is not None
                message = {"type": "mcp.incoming", "body": body.decode("utf-8", "replace")}
                if not await send_delivered(layer, channel, message):
                    logger.info("a message for a legacy SSE stream found no listener; answered 503")
                    return http.unavailable_reply(body)
        except Exception as exc:
            if not outages.report(exc):
                raise
            return http.unavailable_reply(body)
        return reply
