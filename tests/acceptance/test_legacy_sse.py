"""The legacy HTTP+SSE transport against a real server: the official client, the wire
format, and revocation closing open streams."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from django.test import Client as DjangoClient
from django.utils import timezone
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError

from accounts import tokens
from accounts.models import MCPToken, User
from accounts.services import token_revoke
from orchestra.db import run_db
from tests.acceptance.sse_reader import open_sse
from tests.conftest import ROOT, database_url_for_subprocess

pytestmark = [pytest.mark.acceptance]


def rpc(method: str, params: dict[str, Any] | None = None, request_id: Any = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if request_id is not None:
        body["id"] = request_id
    return body


async def test_official_client_over_legacy_sse(live, alice_token) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    headers = {"Authorization": f"Bearer {alice_token}"}
    async with (
        sse_client(f"{live.url}/mcp/sse", headers=headers) as (read, write),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        assert init.protocol_version == "2025-11-25" and init.server_info.name == "orchestra"
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"get_context", "create_project"} <= names
        created = await session.call_tool("create_project", {"name": "Over SSE"})
        assert created.is_error is False and created.structured_content["slug"] == "over-sse"
        missing = await session.call_tool("get_project", {"project": "nope"})
        assert missing.is_error is True
        progressed = await session.call_tool("test_tool_with_progress", {"steps": 2}, progress_callback=on_progress)
        assert progressed.structured_content["done"] is True
    assert seen == [1, 2]


async def test_toolsets_hold_for_the_whole_stream(live, alice_token) -> None:
    headers = {"Authorization": f"Bearer {alice_token}", "X-Orchestra-Toolsets": "notes"}
    async with (
        sse_client(f"{live.url}/mcp/sse?toolsets=notes,tasks", headers=headers) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        names = {t.name for t in (await session.list_tools()).tools}
        assert "create_note" in names and "get_context" in names
        assert "create_task" not in names and "create_project" not in names
        created = await session.call_tool("create_note", {"title": "N", "content": "hello"})
        assert created.is_error is False
    unknown = httpx2.get(f"{live.url}/mcp/sse?toolsets=nope", headers=headers, timeout=10)
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]["message"]
    # Tool names narrow a stream the same way.
    by_name = {"Authorization": f"Bearer {alice_token}", "X-Orchestra-Tools": "create_note,list_notes"}
    async with (
        sse_client(f"{live.url}/mcp/sse", headers=by_name) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert {t.name for t in (await session.list_tools()).tools} == {"create_note", "list_notes", "get_context"}
        with pytest.raises(MCPError, match="not among the tools this connection asked for"):
            await session.call_tool("list_tasks", {})


async def test_wire_format_endpoint_messages_and_keepalive(live, alice_token) -> None:
    async with open_sse(f"{live.url}/mcp/sse", alice_token) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["x-accel-buffering"] == "no"
        endpoint = await stream.next()
        assert endpoint.name == "endpoint" and endpoint.data.startswith("/mcp/messages/?session_id=")
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice_token}"}) as http:
            posted = await http.post(
                f"{live.url}{endpoint.data}",
                json=rpc("initialize", {"protocolVersion": "2024-11-05", "capabilities": {}}, 7),
            )
            assert posted.status_code == 202
            answer = await stream.next_message()
            assert answer["id"] == 7 and answer["result"]["protocolVersion"] == "2024-11-05"
            bad = await http.post(f"{live.url}{endpoint.data}", content=b"{nope")
            assert bad.status_code == 400 and bad.json()["error"]["code"] == -32700
            unknown = await http.post(f"{live.url}/mcp/messages/?session_id=nope", json=rpc("ping"))
            assert unknown.status_code == 404
        await asyncio.sleep(1.5)
        assert any("keepalive" in c for c in stream.comments)


@pytest.fixture
def second_alice_token(alice, acme, issue_token) -> str:
    return issue_token(alice, acme, name="other")


async def test_only_the_opening_token_may_post(live, alice_token, second_alice_token) -> None:
    async with open_sse(f"{live.url}/mcp/sse", alice_token) as stream:
        endpoint = await stream.next()
        async with httpx2.AsyncClient() as http:
            other = await http.post(
                f"{live.url}{endpoint.data}",
                json=rpc("ping"),
                headers={"Authorization": f"Bearer {second_alice_token}"},
            )
            assert other.status_code == 404
            nobody = await http.post(
                f"{live.url}{endpoint.data}",
                json=rpc("ping"),
                headers={"Authorization": f"Bearer {tokens.generate('live')}"},
            )
            assert nobody.status_code == 401


async def test_stream_needs_a_valid_token_and_host(live, alice_token) -> None:
    async with httpx2.AsyncClient() as http:
        assert (await http.get(f"{live.url}/mcp/sse")).status_code == 401
        rebinding = await http.get(
            f"{live.url}/mcp/sse", headers={"Authorization": f"Bearer {alice_token}", "Host": "evil.example"}
        )
        assert rebinding.status_code == 403


async def _closes_within_a_second(live, token: str, revoke) -> float:
    async with open_sse(f"{live.url}/mcp/sse", token) as stream:
        await stream.next()  # endpoint: the stream is registered
        await asyncio.sleep(0.3)  # and the listener is listening
        started = time.monotonic()
        await revoke()
        await asyncio.wait_for(stream.ended.wait(), 5)
        return time.monotonic() - started


async def test_revoking_with_the_management_command_closes_the_stream(live, alice_token) -> None:
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess()}
    async with open_sse(f"{live.url}/mcp/sse", alice_token) as stream:
        await stream.next()
        await asyncio.sleep(0.3)
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "manage.py", "revoketoken", alice_token],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        committed = time.monotonic()  # the command has exited: its revocation is committed
        await asyncio.wait_for(stream.ended.wait(), 5)
        assert time.monotonic() - committed < 1.0


async def test_revoking_from_another_process_closes_the_stream_within_a_second(live, alice_token) -> None:
    def revoke() -> None:
        token_revoke(token=MCPToken.objects.get())

    elapsed = await _closes_within_a_second(live, alice_token, lambda: run_db(revoke))
    assert elapsed < 1.0


async def test_suspending_the_organization_in_the_admin_closes_the_stream(live, alice_token, acme) -> None:
    def suspend_in_admin() -> None:
        operator = User.objects.create_superuser("ops@example.com", "pw-ops-123456")
        client = DjangoClient()
        client.force_login(operator)
        client.post("/admin/accounts/organization/", {"action": "suspend", "_selected_action": [str(acme.pk)]})

    elapsed = await _closes_within_a_second(live, alice_token, lambda: run_db(suspend_in_admin))
    assert elapsed < 1.0


async def test_a_stream_closes_when_its_token_expires(live, alice, acme, issue_token) -> None:
    """An expiring token's stream ends at its expiry (within a second), not whenever
    the client next posts."""
    lifetime = 2.0
    token = await run_db(lambda: issue_token(alice, acme, expires_at=timezone.now() + timedelta(seconds=lifetime)))
    expires = time.monotonic() + lifetime
    async with open_sse(f"{live.url}/mcp/sse", token) as stream:
        assert (await stream.next()).name == "endpoint"
        await asyncio.wait_for(stream.ended.wait(), lifetime + 5)
        ended = time.monotonic()
    assert ended - expires < 1.0, f"closed {ended - expires:.2f} s after the expiry"
    assert ended >= expires - 0.1, "closed before the expiry"
