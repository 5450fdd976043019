"""The Channels consumer for Streamable HTTP at /mcp.

A POST is answered with JSON, or, when the request asked for progress and accepts
event streams, with an SSE stream that carries the progress notifications and then
the response. The work runs in a task (not inside the dispatch of `http.request`),
so the consumer still receives `http.disconnect` while a tool runs: a client that
goes away cancels its request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from django.conf import settings

from accounts.auth import NeedsDatabase
from orchestra import outages, server_timing
from orchestra.db import run_db
from orchestra.logging import new_request_id, request_id_var
from tools.mcp import control, endpoint, http, jsonrpc
from tools.mcp.http import (
    NO_LAYER,
    DirectDispatchMixin,
    encode_headers,
    host_origin_refusal,
    reply_headers,
    request_from_scope,
    scope_headers,
    serve_directly,
    sse_event,
)

logger = logging.getLogger(__name__)


class StreamableHttpConsumer(DirectDispatchMixin, AsyncHttpConsumer):
    # A POST is answered on its own connection: no channel layer subscription per request.
    channel_layer_alias = NO_LAYER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received = 0
        self.task: asyncio.Task[None] | None = None
        self.request_id = "-"

    async def http_request(self, message: dict[str, Any]) -> None:
        # The body's size is bounded before it gets here (orchestra.body_limits).
        if self.received == 0:
            self.headers = scope_headers(self.scope)
            self.request_id = new_request_id(self.headers.get("x-request-id"))
            request_id_var.set(self.request_id)
            refusal = host_origin_refusal(self.headers)
            if refusal is not None:
                await self._send_reply(refusal)
                raise StopConsumer()
        chunk = message.get("body", b"")
        self.received += len(chunk)
        self.body.append(chunk)
        if message.get("more_body"):
            return
        self.task = asyncio.create_task(self._respond(b"".join(self.body)))

    async def http_disconnect(self, message: dict[str, Any]) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        raise StopConsumer()

    async def _respond(self, body: bytes) -> None:
        started = time.perf_counter()
        request = request_from_scope(self.scope, body)
        loop = asyncio.get_running_loop()
        notifications: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        # Only a request carrying a progress token can get notifications before its
        # answer; the others skip the streaming machinery (a cheap look at the bytes).
        wants_stream = "text/event-stream" in request.headers.get("accept", "") and b"progressToken" in body

        def notify(payload: dict[str, Any]) -> None:  # called from the worker thread
            loop.call_soon_threadsafe(notifications.put_nowait, payload)

        if not wants_stream:
            # Requests answered from this process's caches alone (tools/list, ping with
            # a cached token and session) skip the worker thread.
            try:
                reply = endpoint.handle(request, memory_only=True)
            except NeedsDatabase:
                pass
            except Exception as exc:
                await self._send_reply(self._failure(request, exc))
                return
            else:
                if settings.MCP_SERVER_TIMING:
                    server_timing.add_total(reply.headers, started)
                await self._send_reply(reply)
                logger.info(
                    "%s %s %s %.1fms (memory)",
                    request.method,
                    request.path,
                    reply.status,
                    (time.perf_counter() - started) * 1000,
                )
                return
        cancel = threading.Event()  # tells the worker thread to roll back instead of committing
        handler = server_timing.timed_handler(endpoint.handle) if settings.MCP_SERVER_TIMING else endpoint.handle
        work = asyncio.ensure_future(run_db(handler, request, notify if wants_stream else None, cancel))
        # Requests that can run long are registered by (session id, JSON of the request
        # id), so notifications/cancelled posted on another connection, even on
        # another process (through the control bus), can stop them.
        running_key = self._running_key(request)
        running = control.listener().requests if running_key is not None else {}
        if running_key is not None:
            running[running_key] = work
        try:
            reply = await (self._answer(work, notifications) if wants_stream else work)
        except asyncio.CancelledError:
            # Cancelled by notifications/cancelled or a disconnect: no response is sent
            # for a cancelled request; the connection is closed.
            cancel.set()
            # The worker thread finishes on its own (and rolls back); nobody awaits it.
            work.add_done_callback(lambda done: done.cancelled() or done.exception())
            if not self._streaming:
                await self._send_reply(http.Reply(202))
            else:
                await self.send_body(b"", more_body=False)
            return
        except Exception as exc:
            reply = self._failure(request, exc)
        finally:
            if running_key is not None:
                running.pop(running_key, None)
        if reply.cancelled:
            await self._cancel(reply.session_id or "", reply.cancelled)
        if self._streaming:
            await self.send_body(sse_event(reply.payload) if reply.payload is not None else b"", more_body=False)
        else:
            if settings.MCP_SERVER_TIMING:
                server_timing.add_total(reply.headers, started)
            await self._send_reply(reply)
        logger.info(
            "%s %s %s %.1fms", request.method, request.path, reply.status, (time.perf_counter() - started) * 1000
        )

    _streaming = False

    def _failure(self, request: http.Request, exc: Exception) -> http.Reply:
        """The reply to a request that raised: 503 while Redis or the database is away
        (logged once per interval, by orchestra.outages), else 500 with the traceback
        logged."""
        if outages.report(exc):
            return http.unavailable_reply(request.body)
        logger.error("internal error while handling %s %s", request.method, request.path, exc_info=exc)
        return http.rpc_error_reply(500, jsonrpc.INTERNAL_ERROR, "Internal error", {"request_id": self.request_id})

    async def _cancel(self, session_id: str, request_ids: list[Any]) -> None:
        """Cancel requests of `session_id`: here if they run here, else wherever they run."""
        local = control.listener().requests
        elsewhere = []
        for request_id in request_ids:
            key = (session_id, json.dumps(request_id))
            if key in local:
                local[key].cancel()
            else:
                elsewhere.append(key[1])
        for request_key in elsewhere:
            await run_db(control.publish, "cancel", session=session_id, request=request_key)

    async def _answer(
        self, work: asyncio.Future[http.Reply], notifications: asyncio.Queue[dict[str, Any]]
    ) -> http.Reply:
        """Wait for the reply; if notifications come first, switch to an SSE stream.

        Notifications a tool sent are always delivered, even when the tool finished
        before this loop saw them: they precede the response on the stream."""
        while True:
            getter = asyncio.ensure_future(notifications.get())
            waiting: set[asyncio.Future[Any]] = {work, getter}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await self._stream_event(getter.result())
                continue
            getter.cancel()  # an item it was woken for stays in the queue
            while not notifications.empty():
                await self._stream_event(notifications.get_nowait())
            return work.result()

    async def _stream_event(self, payload: dict[str, Any]) -> None:
        if not self._streaming:
            self._streaming = True
            await self.send_headers(
                status=200,
                headers=encode_headers(
                    {
                        "Content-Type": "text/event-stream",
                        "Cache-Control": "no-cache",
                        "X-Accel-Buffering": "no",
                        "X-Request-ID": self.request_id,
                    }
                ),
            )
        await self.send_body(sse_event(payload), more_body=True)

    def _running_key(self, request: http.Request) -> tuple[str, str] | None:
        """Register single tools/call requests so they can be cancelled."""
        session_id = request.headers.get(endpoint.SESSION_HEADER)
        if request.method != "POST" or not session_id or b"tools/call" not in request.body:
            return None
        try:
            payload = request.json()
        except ValueError:  # not JSON or too deep: the endpoint answers that
            return None
        if isinstance(payload, dict) and payload.get("method") == "tools/call" and "id" in payload:
            return (session_id, json.dumps(payload["id"]))
        return None

    async def _send_reply(self, reply: http.Reply) -> None:
        body = reply.body()
        await self.send_headers(
            status=reply.status, headers=reply_headers(reply, body, {"X-Request-ID": self.request_id})
        )
        await self.send_body(body)


# The endpoint's paths, answered before Channels' routers (orchestra.asgi).
PATHS = frozenset({"/mcp", "/mcp/"})


async def streamable_http(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI application of /mcp: a StreamableHttpConsumer per request, driven
    directly (tools.mcp.http.serve_directly)."""
    await serve_directly(StreamableHttpConsumer(), scope, receive, send)
