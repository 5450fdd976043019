"""Slow clients and large bodies against a real server (`manage.py serve`), where the
behaviour is about sockets: headers and bodies have deadlines (1 s here, from
HTTP_HEADER_TIMEOUT_SECONDS and HTTP_BODY_TIMEOUT_SECONDS), a body over its limit is
refused as it arrives and the process does not grow with it."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.conftest import LiveServer, start_server, stop_server

pytestmark = [pytest.mark.acceptance]

DEADLINE = 1.0


@pytest.fixture(scope="module")
def server(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = {"HTTP_HEADER_TIMEOUT_SECONDS": str(DEADLINE), "HTTP_BODY_TIMEOUT_SECONDS": str(DEADLINE)}
    with django_db_blocker.unblock():
        live = start_server(tmp_path_factory.mktemp("slow"), env)
    yield live
    stop_server(live)


def connect(server: LiveServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def trickle(sock: socket.socket, pieces: list[bytes], every: float, give_up_after: float) -> tuple[float, bytes]:
    """Send `pieces` `every` seconds apart until the server answers or closes; (seconds
    it took, what it sent back). Gives up (returns what it has) after `give_up_after`."""
    started = time.monotonic()
    sock.settimeout(every)
    received = b""
    index = 0
    while time.monotonic() - started < give_up_after:
        if index < len(pieces):
            try:
                sock.sendall(pieces[index])
            except OSError:  # closed by the server
                break
            index += 1
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    return time.monotonic() - started, received


def test_headers_sent_a_line_at_a_time_are_cut_off_at_their_deadline(server) -> None:
    with connect(server) as sock:
        lines = [b"POST /mcp HTTP/1.1\r\n", *(b"X-Slow-%d: yes\r\n" % i for i in range(40))]
        took, answer = trickle(sock, lines, every=0.2, give_up_after=6)
    assert took < DEADLINE + 1.0, took
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"


def test_a_connection_that_sends_nothing_is_closed(server) -> None:
    with connect(server) as sock:
        took, answer = trickle(sock, [], every=0.2, give_up_after=6)
    assert took < DEADLINE + 1.0 and answer == b""


def test_a_body_sent_a_byte_at_a_time_is_cut_off_at_its_deadline(server) -> None:
    with connect(server) as sock:
        head = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        took, answer = trickle(sock, [head, *([b" "] * 99)], every=0.2, give_up_after=6)
    assert took < DEADLINE + 1.0, took
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == -32600  # a JSON-RPC error on /mcp


def test_deadlines_end_once_a_request_is_read(server, transactional_db, alice_token) -> None:
    """A slow answer, and a kept-alive connection idle between requests, are not slow clients."""
    headers = {"Authorization": f"Bearer {alice_token}", "Accept": "application/json, text/event-stream"}
    with httpx2.Client(base_url=server.url, headers=headers, timeout=10) as client:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
        session = client.post("/mcp", json=init).headers["mcp-session-id"]
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "test_slow", "arguments": {"seconds": DEADLINE * 2}},
        }
        slow = client.post("/mcp", json=call, headers={"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})
        assert slow.status_code == 200 and slow.json()["result"]["isError"] is False
        time.sleep(DEADLINE * 1.5)  # idle on the kept-alive connection (uvicorn's own timeout is 5 s)
        assert client.get("/healthz").status_code == 200


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_huge_body_is_refused_at_its_limit_and_the_process_does_not_grow(server) -> None:
    before = rss_kib(server.process.pid)
    sent = 0
    chunk = b"a" * 65536
    with connect(server) as sock:
        sock.settimeout(None)  # blocking: MSG_DONTWAIT below then never waits
        sock.sendall(
            b"POST /mcp/messages/?session_id=x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        answer = b""
        try:
            while sent < 400 * 1024 * 1024 and not answer:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
                # Stop as soon as the answer comes: how much was sent by then shows
                # where the server refused (it then throws the rest away for a while).
                with contextlib.suppress(BlockingIOError):
                    answer = sock.recv(65536, socket.MSG_DONTWAIT)
        except OSError:
            pass
    assert answer.startswith(b"HTTP/1.1 413"), (sent, answer[:100])
    assert sent < 16 * 1024 * 1024  # refused at 1 MiB, not after 400 MiB
    assert rss_kib(server.process.pid) - before < 32 * 1024
