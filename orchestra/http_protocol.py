"""uvicorn's httptools protocol with deadlines for slow clients.

uvicorn 0.54 times out idle kept-alive connections, but nothing else: a client that
sends a header line, or a body byte, every 2 seconds holds its connection (and, for a
body, the request's task) as long as it likes; 100 such clients were held for as long
as the test ran. Two deadlines close them:

- the headers of a request must arrive in full within HTTP_HEADER_TIMEOUT_SECONDS of
  its first byte (for a new connection, of the connection itself: a client that
  connects and sends nothing is closed too);
- its body must arrive in full within HTTP_BODY_TIMEOUT_SECONDS of its headers. A
  deadline for the whole body, not a gap between bytes: a byte every second never
  leaves a gap, and a 1 MiB body needs only 35 KB/s to arrive in 30 s.

Past either, the client gets 408 (with a JSON error) and the connection is closed; an
application waiting for the body sees the client leave. The deadlines stop once a
request is read: a long response or an SSE stream is not a slow client.

A response sent before the request's body is all in (a 413 from
orchestra.body_limits) ends with a lingering close: the server half-closes and throws
away what the client still sends, for LINGER_SECONDS at most, then closes. Closed at
once, the socket would have unread bytes, the kernel would answer them with a reset,
and the client, still sending, would lose the 413 it was sent (a third of the time,
measured with a 400 MiB upload).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from orchestra.body_limits import error_body

logger = logging.getLogger(__name__)

# How long a refused request's remaining body is read and thrown away, so its client
# gets to read the refusal (nginx's lingering close does the same).
LINGER_SECONDS = 2.0


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus the header and body deadlines (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout: float = settings.HTTP_HEADER_TIMEOUT_SECONDS
        self.body_timeout: float = settings.HTTP_BODY_TIMEOUT_SECONDS
        self._deadline: asyncio.TimerHandle | None = None
        self._request_begun = False
        self._lingering = False

    # --- the deadline timer -------------------------------------------------------------

    def _arm(self, seconds: float, expired: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    # --- connection and parser callbacks ------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        if self._deadline is None:  # a later request on a kept-alive connection
            self._arm(self.header_timeout, self._headers_expired)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a refused request's body: thrown away
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            # The request's own view of the transport: closing it lingers when needed.
            self.cycle.transport = cast(asyncio.Transport, _LingeringClose(self, self.cycle))
            # Disarmed again by on_message_complete, which follows at once when there
            # is no body.
            self._arm(self.body_timeout, self._body_expired)

    def on_message_complete(self) -> None:
        self._disarm()
        self._request_begun = False
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def close_after_response(self, cycle: RequestResponseCycle) -> None:
        """Close once `cycle` sent a response that ends the connection: at once, unless
        its request's body is still arriving (see LINGER_SECONDS)."""
        transport = self.transport
        if transport.is_closing() or not cycle.more_body or not transport.can_write_eof():
            transport.close()
            return
        self._lingering = True
        self._disarm()
        transport.write_eof()
        self.flow.resume_reading()
        self._arm(LINGER_SECONDS, transport.close)

    # --- expiry ---------------------------------------------------------------------------

    def _headers_expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._request_begun:
            # Connected and sent nothing (or nothing since its last response): there is
            # no request to answer.
            self.transport.close()
            return
        logger.info("closed a connection whose request headers took over %ss", self.header_timeout)
        self._time_out("", f"The request headers did not arrive within {self.header_timeout:g} seconds")

    def _body_expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            # We stopped reading (the application has not taken what came, or a
            # pipelined request waits its turn): not the client's delay.
            self._arm(self.body_timeout, self._body_expired)
            return
        logger.info("closed a connection whose request body took over %ss", self.body_timeout)
        path = self.scope.get("path", "") if self.scope else ""
        self._time_out(path, f"The request body did not arrive within {self.body_timeout:g} seconds")

    def _time_out(self, path: str, message: str) -> None:
        """408 with a JSON error (unless a response has begun), then close."""
        if self.cycle is None or not self.cycle.response_started:
            body = error_body(path, "request_timeout", message, {})
            self.transport.write(
                b"".join(
                    [
                        STATUS_LINE[408],
                        b"content-type: application/json\r\n",
                        b"content-length: " + str(len(body)).encode() + b"\r\n",
                        b"connection: close\r\n\r\n",
                        body,
                    ]
                )
            )
        if self.cycle is not None and not self.cycle.response_complete:
            # As when the client goes away: the application waiting for the body gets
            # http.disconnect, and whatever it sends now is dropped.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()


class _LingeringClose:
    """The transport as a request/response cycle sees it: the same, except that its
    close() goes through the protocol's close_after_response, and that a response's
    head is held until its body's first write (or the end of this turn of the event
    loop, whichever comes first). uvicorn writes the status line and headers as soon as
    the application starts the response, and the body as a second write; held, a
    whole response leaves in one write: one system call and one wake-up of the client
    instead of two (about a quarter of the event loop's time on a small answer)."""

    def __init__(self, protocol: DeadlineHttpToolsProtocol, cycle: RequestResponseCycle) -> None:
        self._protocol = protocol
        self._cycle = cycle
        self._transport = protocol.transport
        self._loop = protocol.loop
        self._head_written = False
        self._held: bytes | None = None
        self.is_closing = protocol.transport.is_closing

    def write(self, data: bytes) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.writelines((held, data))
        elif not self._head_written:
            # The cycle's first write: the response's head (or a 100 Continue).
            self._head_written = True
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._protocol.close_after_response(self._cycle)

    def __getattr__(self, name: str) -> Any:  # anything else the cycle may ask for
        return getattr(self._transport, name)
