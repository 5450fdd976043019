"""A lean HTTP/1.1 load generator for the MCP benchmarks.

A general-purpose client such as httpx spends about a millisecond of CPU on each
request, as much as the servers under test; on a two-core machine the client then
becomes the bottleneck and every server measures the same. This one keeps one
keep-alive connection per simulated client, writes pre-encoded requests and parses
only the status line, Content-Length or chunked framing: about a tenth of a
millisecond a request (the bench prints it), so the figures are the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Connection:
    """One keep-alive HTTP/1.1 connection; requests on it go one after another."""

    host: str
    port: int
    reader: asyncio.StreamReader = field(repr=False)
    writer: asyncio.StreamWriter = field(repr=False)

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        reader, writer = await asyncio.open_connection(host, port, limit=2**22)
        return cls(host=host, port=port, reader=reader, writer=writer)

    def encode(self, path: str, headers: dict[str, str], body: bytes, method: str = "POST") -> bytes:
        """A complete request, to send as often as needed."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"Content-Length: {len(body)}"] if method == "POST" else []
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def send(self, request: bytes) -> Response:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:  # no framing: the server closes the connection at the end of the body
            body = await self.reader.read()
        return Response(status=int(status_line.split(" ", 2)[1]), headers=headers, body=body)

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> Response:
        return await self.send(self.encode(path, headers, body))

    async def read_chunk(self) -> bytes:
        """One chunk of a chunked body; b"" for the last (no trailers from the servers we test)."""
        size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
        return (await self.reader.readexactly(size + 2))[:-2]

    async def _read_chunked(self) -> bytes:
        chunks = []
        while chunk := await self.read_chunk():
            chunks.append(chunk)
        return b"".join(chunks)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@dataclass
class EventStream:
    """A text/event-stream response read by hand: `next_data()` gives each event's data."""

    connection: Connection
    chunked: bool
    buffer: bytes = b""

    @classmethod
    async def open(cls, url: str, headers: dict[str, str]) -> EventStream:
        connection = await Connection.open(url)
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.writer.write(
            connection.encode(target, {"Accept": "text/event-stream", **headers}, b"", method="GET")
        )
        head = (await connection.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        if not head.startswith("http/1.1 200"):
            raise RuntimeError(f"the stream was refused: {head.splitlines()[0]}")
        return cls(connection=connection, chunked="transfer-encoding: chunked" in head)

    async def _more(self) -> None:
        if self.chunked:
            data = await self.connection.read_chunk()
        else:
            data = await self.connection.reader.read(65536)
        if not data:
            raise EOFError("the stream ended")
        self.buffer += data

    async def next_data(self) -> str:
        """The data of the next event (comments, such as keepalives, are skipped)."""
        while True:
            end = self.buffer.find(b"\n\n")
            if end < 0:
                await self._more()
                continue
            block, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
            data = [line[5:].strip() for line in block.decode().split("\n") if line.startswith("data:")]
            if data:
                return "\n".join(data)

    async def close(self) -> None:
        await self.connection.close()
