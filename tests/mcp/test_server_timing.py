"""Server-Timing on /mcp answers (MCP_SERVER_TIMING): off by default; on, it says the
server's time, the handler's, and the SQL time and statement count of the call."""

from __future__ import annotations

import re

import pytest

from tests.mcp.helpers import initialize, post, rpc

pytestmark = pytest.mark.django_db(transaction=True)

TIMING = re.compile(
    r"^total;dur=(?P<total>[\d.]+), handler;dur=(?P<handler>[\d.]+), "
    r'db;dur=(?P<db>[\d.]+);desc="(?P<n>\d+) statements"$'
)


async def test_no_server_timing_unless_asked_for(alice_token) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("tools/call", {"name": "list_projects", "arguments": {}}))
    assert response.status == 200
    assert "server-timing" not in response.headers


async def test_server_timing_counts_the_calls_statements(settings, alice_token) -> None:
    settings.MCP_SERVER_TIMING = True
    session = await initialize(alice_token)
    call = {"name": "create_project", "arguments": {"name": "Timed"}}
    response = await post(alice_token, session, rpc("tools/call", call))
    assert response.json()["result"]["isError"] is False
    match = TIMING.match(response.headers["server-timing"])
    assert match is not None, response.headers["server-timing"]
    total, handler, db = (float(match[name]) for name in ("total", "handler", "db"))
    # A write: its statements and its COMMIT, all inside the handler's time.
    assert int(match["n"]) >= 3
    assert 0 < db <= handler <= total
