"""A legacy SSE stream holds its own session: no lookup per message, kept from the
purge of idle sessions while it stays open, forgotten when it closes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import ApplicationCommunicator
from django.utils import timezone

from orchestra.asgi import application
from tests.conftest import DEFAULT_HEADERS, http_scope
from tools.mcp import sessions, sse
from tools.mcp.models import McpSession
from tools.mcp.tasks import purge_stale_sessions

pytestmark = [pytest.mark.django_db(transaction=True)]


async def open_stream(token: str) -> tuple[ApplicationCommunicator, str]:
    headers = [*{**DEFAULT_HEADERS, "authorization": f"Bearer {token}"}.items()]
    communicator = ApplicationCommunicator(application, http_scope("GET", "/mcp/sse", headers))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert (await communicator.receive_output(5))["status"] == 200
    endpoint = (await communicator.receive_output(5))["body"].decode()
    return communicator, endpoint.split("session_id=")[1].strip()


async def test_an_open_streams_session_is_kept_from_the_purge(alice_token, settings, monkeypatch) -> None:
    settings.MCP_SSE_KEEPALIVE_SECONDS = 0.05
    monkeypatch.setattr(sse, "SESSION_TOUCH_SECONDS", 0.2)
    communicator, session_id = await open_stream(alice_token)
    day_old = timezone.now() - timedelta(days=2)
    await sync_to_async(McpSession.objects.filter(pk=session_id).update)(last_seen_at=day_old)
    await asyncio.sleep(0.6)  # keepalives go out; the session is touched
    await sync_to_async(purge_stale_sessions)()
    session = await sync_to_async(McpSession.objects.get)(pk=session_id)
    assert session.last_seen_at > day_old and session.closed_at is None

    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(5)
    closed = await sync_to_async(McpSession.objects.get)(pk=session_id)
    assert closed.closed_at is not None
    assert not sessions.is_cached(session_id)  # forgotten with the stream
