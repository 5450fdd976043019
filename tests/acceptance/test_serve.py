"""`manage.py serve` as operators run it: uvicorn as orchestra.web_server configures it,
shutting down with streams open, refusing a taken port, and believing forwarded client
addresses only from trusted proxies."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orchestra import web_server
from tests.acceptance.sse_reader import open_sse
from tests.conftest import ROOT, start_server, stop_server, within_one_rate_window

pytestmark = [pytest.mark.acceptance]


def test_the_server_is_uvicorn_on_its_accelerators(settings) -> None:
    config = web_server.config("127.0.0.1", 8000)
    # httptools, through our subclass that adds deadlines for slow clients.
    assert issubclass(config.http, HttpToolsProtocol)
    assert (config.loop, config.ws) == ("uvloop", "websockets-sansio")
    assert config.ws_max_size == web_server.WS_MAX_MESSAGE_BYTES == 64 * 1024
    assert config.lifespan == "off" and config.server_header is False and config.access_log is False
    # Nobody's X-Forwarded-For is believed unless an operator names a proxy.
    assert settings.FORWARDED_ALLOW_IPS == []
    assert config.proxy_headers is False
    assert config.timeout_graceful_shutdown == web_server.GRACEFUL_SHUTDOWN_SECONDS


async def test_sigterm_ends_open_streams_and_the_process(transactional_db, alice_token, tmp_path: Path) -> None:
    """uvicorn alone would wait for every response to end; an SSE stream never does."""
    server = await asyncio.to_thread(start_server, tmp_path)
    try:
        async with open_sse(f"{server.url}/mcp/sse", alice_token) as stream:
            assert (await stream.next()).name == "endpoint"
            stopped_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(stream.ended.wait(), 5)  # the stream ends, it is not cut by a kill
            code = await asyncio.to_thread(server.process.wait, 10)
            assert code == 0, server.log()
            assert time.monotonic() - stopped_at < web_server.GRACEFUL_SHUTDOWN_SECONDS
        assert "closed 1 open stream(s) for shutdown" in server.log()
    finally:
        stop_server(server)


def test_serve_fails_when_its_port_is_taken(db) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "serve", "--no-worker", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert "address already in use" in result.stdout + result.stderr


def test_runserver_points_at_serve() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "runserver"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "manage.py serve" in result.stderr


def failed_auth_statuses(url: str, forwarded_for: str, attempts: int) -> list[int]:
    headers = {"Authorization": "Bearer orch_live_not-a-token", "X-Forwarded-For": forwarded_for}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    return [httpx2.post(f"{url}/mcp", json=ping, headers=headers).status_code for _ in range(attempts)]


def test_forged_forwarded_addresses_are_throttled_together_by_default(transactional_db, tmp_path: Path) -> None:
    """With no proxy named, X-Forwarded-For is nobody's word: bad tokens sent with a
    different forged address each are still counted against the real peer."""
    server = start_server(tmp_path, {"AUTH_FAILURE_LIMIT_PER_MINUTE": "5"})
    try:
        within_one_rate_window(20)
        statuses = [failed_auth_statuses(server.url, f"203.0.113.{n}", 1)[0] for n in range(1, 21)]
    finally:
        stop_server(server)
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}


@pytest.mark.parametrize(("trusted", "separate"), [("127.0.0.1", True), ("10.9.9.9", False)])
def test_forwarded_addresses_count_only_from_trusted_proxies(
    transactional_db, tmp_path: Path, trusted: str, separate: bool
) -> None:
    """The failed-auth throttle counts by client address: a trusted proxy's
    X-Forwarded-For names it; anyone else's is ignored (or it could dodge the throttle)."""
    env = {"FORWARDED_ALLOW_IPS": trusted, "AUTH_FAILURE_LIMIT_PER_MINUTE": "2"}
    server = start_server(tmp_path, env)
    try:
        within_one_rate_window(20)
        assert failed_auth_statuses(server.url, "203.0.113.1", 3) == [401, 401, 429]
        other = failed_auth_statuses(server.url, "203.0.113.2", 1)
        assert other == ([401] if separate else [429])
    finally:
        stop_server(server)


@pytest.mark.parametrize(("trusted", "secure"), [("127.0.0.1", True), ("none", False)])
def test_the_scheme_comes_from_x_forwarded_proto_only_through_a_named_proxy(
    transactional_db, tmp_path: Path, trusted: str, secure: bool
) -> None:
    """Behind TLS ending at a proxy, only a named proxy's X-Forwarded-Proto makes a
    request secure (HSTS, secure redirects, CSRF's https checks); a client's is ignored."""
    env = {"APP_URL": "https://orchestra.example.com", "SECRET_KEY": "k" * 50, "FORWARDED_ALLOW_IPS": trusted}
    server = start_server(tmp_path, env)
    try:
        headers = {"Host": "orchestra.example.com", "X-Forwarded-Proto": "https"}
        response = httpx2.get(f"{server.url}/healthz", headers=headers)
    finally:
        stop_server(server)
    assert response.status_code == 200
    assert ("strict-transport-security" in response.headers) is secure


def test_serve_warns_when_tls_ends_at_a_proxy_nobody_named(db) -> None:
    env = {**os.environ, "APP_URL": "https://orchestra.example.com", "SECRET_KEY": "k" * 50}
    env.pop("FORWARDED_ALLOW_IPS", None)
    with socket.socket() as taken:  # so that serve stops right after its warnings
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "serve", "--no-worker", "--port", str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert "FORWARDED_ALLOW_IPS is none" in result.stderr
