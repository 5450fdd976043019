"""McpSession persistence: any process can continue any session."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from tools.mcp.models import McpSession

# last_seen_at is a hint for clean-up, not an audit: write it at most this often.
TOUCH_RESOLUTION = timedelta(seconds=30)


def session_open_stream(*, token_id: Any, channel_name: str) -> McpSession:
    """A legacy SSE session: opened by GET /mcp/sse, before any initialize."""
    return McpSession.objects.create(
        id=secrets.token_urlsafe(32), token_id=token_id, transport="sse", channel_name=channel_name
    )


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
        return existing
    return McpSession.objects.create(id=secrets.token_urlsafe(32), token_id=token_id, **fields)


def session_for_token(session_id: str, token_id: Any) -> McpSession | None:
    """The open session `session_id` if `token_id` opened it; None otherwise (same
    answer for a missing session and someone else's)."""
    if not session_id or len(session_id) > 64:
        return None
    session = McpSession.objects.filter(id=session_id, token_id=token_id, closed_at__isnull=True).first()
    if session is not None and timezone.now() - session.last_seen_at >= TOUCH_RESOLUTION:
        McpSession.objects.filter(pk=session.pk).update(last_seen_at=timezone.now())
    return session


def session_mark_initialized(session: McpSession) -> None:
    if not session.initialized:
        McpSession.objects.filter(pk=session.pk).update(initialized=True)
        session.initialized = True


def session_close(session: McpSession) -> None:
    McpSession.objects.filter(pk=session.pk, closed_at__isnull=True).update(closed_at=timezone.now())
