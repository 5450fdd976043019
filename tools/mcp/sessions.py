"""McpSession persistence: any process can continue any session."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.auth import NeedsDatabase
from orchestra.ttl_cache import TtlCache
from tools.mcp import control
from tools.mcp.models import McpSession

# last_seen_at is a hint for clean-up, not an audit: write it at most this often.
TOUCH_RESOLUTION = timedelta(seconds=30)


def session_open_stream(*, token_id: Any, channel_name: str) -> McpSession:
    """A legacy SSE session: opened by GET /mcp/sse, before any initialize."""
    session = McpSession.objects.create(
        id=secrets.token_urlsafe(32), token_id=token_id, transport="sse", channel_name=channel_name
    )
    # The process holding the stream remembers its session until the stream closes
    # (mark_stream_closed forgets it): posts to it that land here need no lookup.
    _remember(session, ttl=math.inf)
    return session


def session_touch(session_id: str) -> None:
    """A long-lived stream's session is in use: keep it from the purge of idle ones."""
    McpSession.objects.filter(pk=session_id, closed_at__isnull=True).update(last_seen_at=timezone.now())


def session_initialize(
    *, existing: McpSession | None, token_id: Any, protocol_version: str, client_info: Any, capabilities: Any
) -> McpSession:
    """Record the handshake: on the legacy stream's session, or a new Streamable HTTP one."""
    fields = {
        "protocol_version": protocol_version,
        "client_info": client_info if isinstance(client_info, dict) else {},
        "client_capabilities": capabilities if isinstance(capabilities, dict) else {},
    }
    if existing is not None:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save(update_fields=list(fields))
        forget_session(existing.pk)
        return existing
    session = McpSession.objects.create(id=secrets.token_urlsafe(32), token_id=token_id, **fields)
    _remember(session)
    return session


# Open sessions this process looked up recently, by id: a busy client's
# requests skip the lookup for a few seconds. Closing a session forgets it here at
# once and, through the control bus, in every other process; the time bounds how long
# a closed session could still be used should that event be lost. (What a session may
# do is the token's business, checked on every request.) A session's token never
# changes, so a cached row also answers for any other token: not theirs.
CACHE_SECONDS = 5.0
_recent: TtlCache[str, McpSession] = TtlCache()


def forget_session(session_id: str) -> None:
    _recent.pop(session_id)


def is_cached(session_id: str) -> bool:
    """Whether session_for_token would answer from this process's memory alone."""
    return _recent.get(session_id) is not None


def session_for_token(session_id: str, token_id: Any, *, memory_only: bool = False) -> McpSession | None:
    """The open session `session_id` if `token_id` opened it; None otherwise (same
    answer for a missing session and someone else's). With `memory_only`, answer from
    the cache or raise NeedsDatabase."""
    if not session_id or len(session_id) > 64:
        return None
    hit = _recent.get(session_id)
    if hit is not None:
        return hit if str(hit.token_id) == str(token_id) else None
    if memory_only:
        raise NeedsDatabase("session not cached")
    session = McpSession.objects.filter(id=session_id, token_id=token_id, closed_at__isnull=True).first()
    if session is not None:
        if timezone.now() - session.last_seen_at >= TOUCH_RESOLUTION:
            McpSession.objects.filter(pk=session.pk).update(last_seen_at=timezone.now())
        _remember(session)
    return session


def _remember(session: McpSession, ttl: float = CACHE_SECONDS) -> None:
    """Cache a session this process just made or read: a client's next requests skip
    the lookup."""
    _recent.put(session.pk, session, ttl)


def session_mark_initialized(session: McpSession) -> None:
    if not session.initialized:
        McpSession.objects.filter(pk=session.pk).update(initialized=True)
        session.initialized = True


def session_close(session: McpSession) -> None:
    McpSession.objects.filter(pk=session.pk, closed_at__isnull=True).update(closed_at=timezone.now())
    forget_session(session.pk)
    control.publish("session_closed", id=session.pk)


# A session closed by any process is forgotten by every process's cache.
control.on("session_closed", lambda event: forget_session(event.get("id", "")))
