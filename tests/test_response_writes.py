"""A response's head and body leave in one write (orchestra.http_protocol._LingeringClose)."""

from __future__ import annotations

import asyncio
from typing import Any

from orchestra.http_protocol import _LingeringClose

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []

    def write(self, data: bytes) -> None:
        self.writes.append([data])

    def writelines(self, parts: Any) -> None:
        self.writes.append(list(parts))

    def is_closing(self) -> bool:
        return False


class Protocol:
    """What the wrapper uses of DeadlineHttpToolsProtocol."""

    def __init__(self) -> None:
        self.transport = RecordingTransport()
        self.loop = asyncio.get_running_loop()
        self.closed_after: list[Any] = []

    def close_after_response(self, cycle: Any) -> None:
        self.closed_after.append(cycle)


async def test_head_and_body_leave_in_one_write() -> None:
    protocol = Protocol()
    transport = _LingeringClose(protocol, "cycle")  # type: ignore[arg-type]
    transport.write(HEAD)
    transport.write(b"{}")
    await asyncio.sleep(0)  # the head's flush runs and finds nothing held
    assert protocol.transport.writes == [[HEAD, b"{}"]]


async def test_a_head_alone_leaves_at_the_end_of_the_loops_turn() -> None:
    protocol = Protocol()
    transport = _LingeringClose(protocol, "cycle")  # type: ignore[arg-type]
    transport.write(HEAD)
    assert protocol.transport.writes == []
    await asyncio.sleep(0)
    assert protocol.transport.writes == [[HEAD]]
    transport.write(b"data: 1\n\n")  # a stream's later chunks go out as they come
    assert protocol.transport.writes == [[HEAD], [b"data: 1\n\n"]]


async def test_closing_sends_a_held_head_first() -> None:
    protocol = Protocol()
    transport = _LingeringClose(protocol, "cycle")  # type: ignore[arg-type]
    transport.write(HEAD)
    transport.close()
    assert protocol.transport.writes == [[HEAD]]
    assert protocol.closed_after == ["cycle"]
