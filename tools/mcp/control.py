"""The control bus: revocations and cancellations reach every server process.

Events travel on PostgreSQL's LISTEN/NOTIFY, not on the channel layer, for two
reasons: they must work without Redis (a `revoketoken` command is another process
than the server, and the embedded default has no shared channel layer), and they
must be transactional (a revocation is announced when it commits, never before).

- `publish()` runs `pg_notify` inside the caller's transaction.
- Each server process runs one listener (an asyncio task holding one connection),
  started the first time something registers. It closes the local streams of a
  revoked token, of a suspended organization or of a removed or deactivated user,
  and cancels local requests named by a cross-process `notifications/cancelled`.
- If the listener's connection drops, it reconnects and re-checks every local
  stream's token, since events sent meanwhile were lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections

from orchestra import outages
from orchestra.db import run_db

logger = logging.getLogger(__name__)

CHANNEL = "orchestra_control"
RECONNECT_SECONDS = 1.0
_MATCH_FIELDS = {"token": "token_id", "user": "user_id", "organization": "organization_id"}


def access_lost(*, token: Any = None, user: Any = None, organization: Any = None) -> None:
    """Streams matching every given field must close (a revoked token, a suspended
    organization, a deactivated user, a user removed from an organization)."""
    publish("access_lost", token=token, user=user, organization=organization)


# Handlers of simple events by kind, registered by the modules that own them (the
# session cache registers session_closed), so the bus imports none of them.
_handlers: dict[str, Callable[[dict[str, Any]], None]] = {}


def on(kind: str, handler: Callable[[dict[str, Any]], None]) -> None:
    """Run `handler(event)` in every process when an event of `kind` arrives."""
    _handlers[kind] = handler


def on_access_lost(sender: Any, **fields: Any) -> None:
    """Receiver of accounts.signals.access_lost."""
    access_lost(**{name: fields.get(name) for name in ("token", "user", "organization")})


def publish(kind: str, **fields: Any) -> None:
    """Announce an event to every process, when the current transaction commits."""
    fields = {k: v for k, v in fields.items() if v is not None}
    payload = json.dumps({"kind": kind, **{k: str(v) for k, v in fields.items()}})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


@dataclass
class Stream:
    """A long-lived response of this process, and how to end it."""

    token_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID  # the live organization
    close: Callable[[], Awaitable[None]]


class ControlListener:
    """Per event loop: the registry of local streams and requests, and the listener."""

    def __init__(self) -> None:
        self.streams: dict[str, Stream] = {}
        self.requests: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(), name="orchestra-control-listener")

    async def _run(self) -> None:
        lost = False
        while True:
            try:
                conn = await _listen_connection()
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # Events sent before we listened (first start, or while we were
                    # reconnecting) are lost: check every local stream once.
                    await self._recheck_streams()
                    self.ready.set()
                    if lost:
                        logger.warning("control listener listening again; re-checked %d stream(s)", len(self.streams))
                        lost = False
                    async for notice in conn.notifies():
                        await self._dispatch(notice.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A database that is away is logged once per interval (orchestra.outages);
                # anything else is a bug worth its traceback.
                if outages.report(exc) is None:
                    logger.warning("control listener lost its connection; reconnecting", exc_info=True)
                lost = True
                self.ready.clear()
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _dispatch(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return
        kind = event.get("kind")
        if kind == "cancel":
            future = self.requests.get((event.get("session", ""), event.get("request", "")))
            if future is not None:
                future.cancel()
            return
        handler = _handlers.get(kind)
        if handler is not None:
            handler(event)
            return
        if kind != "access_lost":
            return
        wanted = {name: event[key] for key, name in _MATCH_FIELDS.items() if event.get(key)}
        if not wanted:
            return
        from accounts.auth import forget

        forget(token=event.get("token"), user=event.get("user"), organization=event.get("organization"))
        # Close every local stream matching all the fields the event names.
        doomed = [s for s in self.streams.values() if all(str(getattr(s, n)) == v for n, v in wanted.items())]
        for stream in doomed:
            await stream.close()
        if doomed:
            logger.info("closed %d stream(s) after a %s event", len(doomed), kind)

    async def _recheck_streams(self) -> None:
        from accounts.auth import AuthenticationFailed, reauthenticate

        for stream in list(self.streams.values()):
            try:
                await run_db(reauthenticate, stream.token_id)
            except AuthenticationFailed:
                await stream.close()


async def _listen_connection() -> Any:
    import psycopg

    params = await run_db(connections["default"].get_connection_params)
    keep = ("dbname", "user", "password", "host", "port", "options", "sslmode")
    return await psycopg.AsyncConnection.connect(autocommit=True, **{k: params[k] for k in keep if params.get(k)})


_listeners: dict[asyncio.AbstractEventLoop, ControlListener] = {}


def listener() -> ControlListener:
    """This event loop's listener, started on first use."""
    loop = asyncio.get_running_loop()
    for stale in [other for other in _listeners if other.is_closed()]:
        del _listeners[stale]
    current = _listeners.get(loop)
    if current is None:
        current = _listeners[loop] = ControlListener()
    current.start()
    return current


async def close_local_streams() -> int:
    """End every stream this process holds (the server is shutting down); how many.

    Clients of the legacy transport reconnect, to another process if there is one."""
    current = _listeners.get(asyncio.get_running_loop())
    if current is None:
        return 0
    streams = list(current.streams.values())
    await asyncio.gather(*(stream.close() for stream in streams), return_exceptions=True)
    return len(streams)
