"""Reading a legacy SSE stream by hand (for checks the official client hides)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2


@dataclass
class Event:
    name: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseStream:
    response: httpx2.Response
    events: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    comments: list[str] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def next(self, timeout: float = 5) -> Event:
        event = await asyncio.wait_for(self.events.get(), timeout)
        if event is None:
            raise EOFError("the stream ended")
        return event

    async def next_message(self, timeout: float = 5) -> Any:
        while True:
            event = await self.next(timeout)
            if event.name == "message":
                return event.json()

    async def _pump(self) -> None:
        name, data = "message", []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    await self.events.put(Event(name, "\n".join(data)))
                    name, data = "message", []
        except httpx2.HTTPError:
            pass
        finally:
            self.ended.set()
            await self.events.put(None)


@asynccontextmanager
async def open_sse(url: str, token: str, **headers: str) -> AsyncIterator[SseStream]:
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=60)) as client,
        client.stream("GET", url, headers={"Authorization": f"Bearer {token}", **headers}) as response,
    ):
        stream = SseStream(response)
        pump = asyncio.create_task(stream._pump())
        try:
            yield stream
        finally:
            pump.cancel()
