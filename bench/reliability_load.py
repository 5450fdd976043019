"""Load for bench/reliability.py: simulated MCP clients on bench/loadgen.py that keep
going whatever the server does, and record every outcome.

A client behaves as a real one would: one keep-alive connection and one MCP session
(Streamable HTTP); a broken connection is reopened (0.2 s apart while the server is
unreachable) and the session kept, and a 404 (session unknown) starts a new session.
Every request ends as exactly one Outcome: success, or an error of one kind:
`http <status>`, `jsonrpc <code>`, `tool <error code>`, `timeout`, or
`connection <exception>` / `connect <exception>`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from loadgen import Connection, EventStream, Response

PROTOCOL = "2025-11-25"
BATCH_PROTOCOL = "2025-03-26"  # the only revision with JSON-RPC batches
LEGACY_PROTOCOL = "2024-11-05"
RECONNECT_PAUSE = 0.2
WORDS = [
    *("deploy", "staging", "cache", "redis", "postgres", "worker", "queue", "latency", "index", "schema"),
    *("token", "session", "retry", "backoff", "release", "rollback", "migration", "vector", "search"),
    *("embedding", "review", "gate", "feature", "decision", "spec", "note"),
]
CLIENT_INFO = {"name": "reliability", "version": "1"}
CONNECTION_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, EOFError, ValueError)


@dataclass
class Outcome:
    tool: str
    started: float  # seconds since the run's start
    done: float
    kind: str | None  # None: success

    @property
    def ok(self) -> bool:
        return self.kind is None

    @property
    def latency(self) -> float:
        return self.done - self.started


@dataclass
class StreamEnd:
    at: float
    how: str  # "closed by the server" or the exception that ended it


@dataclass
class Recorder:
    """Everything a run saw, stamped in seconds since `began` (time.monotonic())."""

    began: float = field(default_factory=time.monotonic)
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: dict[str, list[str]] = field(default_factory=lambda: {"task": [], "memory": []})
    stream_ends: list[StreamEnd] = field(default_factory=list)
    readyz: list[tuple[float, int]] = field(default_factory=list)  # (at, status; 0 = no answer)

    def now(self) -> float:
        return time.monotonic() - self.began

    def add(self, tool: str, started: float, kind: str | None) -> None:
        self.outcomes.append(Outcome(tool, started, self.now(), kind))


@dataclass
class Workload:
    """A project to write into and a weighted mix of tool calls."""

    project: str
    weights: dict[str, int]
    label: str

    def pick(self, rng: random.Random, client: int, n: int) -> tuple[str, dict[str, Any]]:
        tool = rng.choices(list(self.weights), list(self.weights.values()))[0]
        return tool, self.arguments(tool, rng, client, n)

    def arguments(self, tool: str, rng: random.Random, client: int, n: int) -> dict[str, Any]:
        words = " ".join(rng.sample(WORDS, 4))
        if tool == "create_task":
            return {
                "title": f"{self.label} c{client} #{n}: {words}",
                "project": self.project,
                "priority": rng.choice(["high", "medium", "low"]),
            }
        if tool == "list_tasks":
            return {"project": self.project, "limit": 20}
        if tool == "store_memory":
            return {
                "content": f"{self.label} client {client} fact {n}: the {words} was checked at {time.time():.6f}",
                "scope": "project",
                "project": self.project,
                "tags": ["reliability"],
            }
        if tool == "search_memory":
            return {"query": words, "project": self.project, "limit": 5}
        return {}


def json_body(response: Response) -> bytes:
    """The JSON of an answer: the body, or the last event's data of an SSE stream."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        return response.body
    data = [line[5:].strip() for line in response.body.split(b"\n") if line.startswith(b"data:")]
    return data[-1] if data else b""


def classify(response: Response) -> tuple[str | None, Any]:
    """(error kind or None, the JSON-RPC message or list of messages)."""
    if response.status != 200:
        return f"http {response.status}", None
    body = json_body(response)
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "bad body", None
    if isinstance(message, list):
        return None, message
    return message_kind(message), message


def structured(result: dict[str, Any]) -> dict[str, Any]:
    """A tool result's JSON: structuredContent, or (revisions before 2025-06-18 have
    none) the same JSON as the first text block."""
    if isinstance(result.get("structuredContent"), dict):
        return dict(result["structuredContent"])
    for block in result.get("content") or []:
        if block.get("type") == "text":
            try:
                data = orjson.loads(block.get("text", ""))
            except orjson.JSONDecodeError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def message_kind(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "bad body"
    if "error" in message:
        return f"jsonrpc {message['error'].get('code')}"
    result = message.get("result") or {}
    if result.get("isError"):
        error = structured(result).get("error") or {}
        return f"tool {error.get('code', 'error')}"
    return None


def acknowledged_row(tool: str, message: dict[str, Any]) -> tuple[str, str] | None:
    """("task" | "memory", id) for a successful write, else None."""
    content = structured(message.get("result") or {})
    if tool == "create_task" and content.get("id"):
        return "task", str(content["id"])
    if tool == "store_memory" and (content.get("memory") or {}).get("id") and not content.get("duplicate"):
        return "memory", str(content["memory"]["id"])
    return None


class McpClient:
    """One simulated client: a connection, a session, and ids that never repeat."""

    def __init__(self, base_url: str, token: str, protocol: str = PROTOCOL, timeout: float = 15) -> None:
        self.base_url, self.protocol, self.timeout = base_url, protocol, timeout
        self.auth = {"Authorization": f"Bearer {token}"}
        self.connection: Connection | None = None
        self.session: dict[str, str] | None = None
        self.request_id = 0

    def next_id(self) -> int:
        self.request_id += 1
        return self.request_id

    async def drop(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                await asyncio.wait_for(connection.close(), 1)
            except (TimeoutError, *CONNECTION_ERRORS):
                pass

    async def _post(self, headers: dict[str, str], body: bytes) -> Response:
        if self.connection is None:
            self.connection = await asyncio.wait_for(Connection.open(self.base_url), self.timeout)
        response = await asyncio.wait_for(self.connection.post("/mcp", headers, body), self.timeout)
        if response.headers.get("connection", "").lower() == "close":
            await self.drop()
        return response

    async def ready(self) -> str | None:
        """Connected with a session; else the kind of error that prevented it."""
        if self.session is not None and self.connection is not None:
            return None
        base = {**self.auth, "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        try:
            if self.session is None:
                params = {"protocolVersion": self.protocol, "capabilities": {}, "clientInfo": CLIENT_INFO}
                body = orjson.dumps({"jsonrpc": "2.0", "id": self.next_id(), "method": "initialize", "params": params})
                response = await self._post(base, body)
                kind, _ = classify(response)
                if kind is not None:
                    return f"initialize: {kind}"
                session = {**base, "Mcp-Session-Id": response.headers.get("mcp-session-id", "")}
                session["MCP-Protocol-Version"] = self.protocol
                await self._post(session, orjson.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                self.session = session
            elif self.connection is None:
                self.connection = await asyncio.wait_for(Connection.open(self.base_url), self.timeout)
        except TimeoutError:
            await self.drop()
            return "connect timeout"
        except CONNECTION_ERRORS as exc:
            await self.drop()
            return f"connect {type(exc).__name__}"
        return None

    async def send(self, body: bytes) -> tuple[str | None, Any]:
        """Post one JSON-RPC body in the session: (error kind or None, message(s))."""
        assert self.session is not None
        try:
            response = await self._post(self.session, body)
        except TimeoutError:
            await self.drop()
            return "timeout", None
        except CONNECTION_ERRORS as exc:
            await self.drop()
            return f"connection {type(exc).__name__}", None
        if response.status == 404:
            self.session = None  # the server forgot the session: start a new one
        return classify(response)

    def call_body(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        params = {"name": tool, "arguments": arguments}
        return {"jsonrpc": "2.0", "id": self.next_id(), "method": "tools/call", "params": params}


async def mix_client(
    n: int, client: McpClient, workload: Workload, recorder: Recorder, until: Callable[[], bool]
) -> None:
    """Calls from the workload's mix, back to back, until `until()` says stop."""
    rng = random.Random(n)
    count = 0
    while not until():
        started = recorder.now()
        problem = await client.ready()
        if problem is not None:
            recorder.add("connect", started, problem)
            await asyncio.sleep(RECONNECT_PAUSE)
            continue
        count += 1
        tool, arguments = workload.pick(rng, n, count)
        try:
            kind, message = await client.send(orjson.dumps(client.call_body(tool, arguments)))
            row = acknowledged_row(tool, message) if kind is None else None
        except Exception as exc:  # an answer this client cannot read: recorded, never fatal
            kind, row = f"unreadable answer {type(exc).__name__}", None
            await client.drop()
        recorder.add(tool, started, kind)
        if row is not None:
            recorder.acknowledged[row[0]].append(row[1])


async def batch_client(
    n: int, client: McpClient, workload: Workload, recorder: Recorder, until: Callable[[], bool], size: int = 10
) -> None:
    """JSON-RPC batches of `size` create_task calls (revision 2025-03-26), back to back;
    each batch is one outcome (its first error), each task answered is acknowledged."""
    rng = random.Random(10_000 + n)
    count = 0
    while not until():
        started = recorder.now()
        problem = await client.ready()
        if problem is not None:
            recorder.add("connect", started, problem)
            await asyncio.sleep(RECONNECT_PAUSE)
            continue
        calls = []
        for _ in range(size):
            count += 1
            calls.append(client.call_body("create_task", workload.arguments("create_task", rng, 10_000 + n, count)))
        try:
            kind, rows = batch_outcome(await client.send(orjson.dumps(calls)), size)
        except Exception as exc:  # an answer this client cannot read: recorded, never fatal
            kind, rows = f"unreadable answer {type(exc).__name__}", []
            await client.drop()
        recorder.acknowledged["task"].extend(rows)
        recorder.add(f"batch of {size} create_task", started, kind)


def batch_outcome(answer: tuple[str | None, Any], size: int) -> tuple[str | None, list[str]]:
    """(the batch's first error kind or None, the ids of the tasks it created)."""
    kind, messages = answer
    if kind is not None:
        return kind, []
    if not isinstance(messages, list):
        return "batch answered with one message", []
    kinds = [message_kind(m) for m in messages]
    if len(messages) != size:
        kinds.append(f"batch answered {len(messages)} of {size}")
    rows = [acknowledged_row("create_task", m) for m, k in zip(messages, kinds, strict=False) if k is None]
    return next((k for k in kinds if k is not None), None), [row[1] for row in rows if row is not None]


async def stream_client(base_url: str, token: str, recorder: Recorder, until: Callable[[], bool]) -> None:
    """A legacy HTTP+SSE client: opens GET /mcp/sse, initializes, then calls get_context
    through POST /mcp/messages/ and waits for each answer on the stream (10 s at most).
    A stream that ends is recorded (how, and when) and opened again."""
    auth = {"Authorization": f"Bearer {token}"}
    headers = {**auth, "Content-Type": "application/json"}
    while not until():
        started = recorder.now()
        stream: EventStream | None = None
        poster: Connection | None = None
        try:
            stream = await asyncio.wait_for(EventStream.open(f"{base_url}/mcp/sse", auth), 10)
            endpoint = await asyncio.wait_for(stream.next_data(), 10)
            poster = await Connection.open(base_url)
            path = urlsplit(endpoint).path + (f"?{urlsplit(endpoint).query}" if urlsplit(endpoint).query else "")
            params = {"protocolVersion": LEGACY_PROTOCOL, "capabilities": {}, "clientInfo": CLIENT_INFO}
            messages: list[dict[str, Any]] = [
                {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
            ]
            for message in messages:
                response = await asyncio.wait_for(poster.post(path, headers, orjson.dumps(message)), 10)
                if response.status != 202:
                    raise RuntimeError(f"http {response.status}")
                if "id" in message:
                    await asyncio.wait_for(stream.next_data(), 10)
            request_id = 0
            while not until():
                request_id += 1
                sent = recorder.now()
                call = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call"}
                call["params"] = {"name": "get_context", "arguments": {}}
                response = await asyncio.wait_for(poster.post(path, headers, orjson.dumps(call)), 10)
                if response.status != 202:
                    recorder.add("sse get_context", sent, f"http {response.status}")
                    await asyncio.sleep(RECONNECT_PAUSE)
                    continue
                try:
                    answer = orjson.loads(await asyncio.wait_for(stream.next_data(), 10))
                except TimeoutError:
                    recorder.add("sse get_context", sent, "answer never came on the stream (10 s)")
                    continue
                recorder.add("sse get_context", sent, message_kind(answer))
                await asyncio.sleep(0.05)
        except EOFError:
            recorder.stream_ends.append(StreamEnd(recorder.now(), "closed by the server"))
        except RuntimeError as exc:  # refused or answered with an error status
            recorder.add("sse open", started, f"stream refused: {exc}")
        except TimeoutError:
            recorder.stream_ends.append(StreamEnd(recorder.now(), "timeout"))
        except CONNECTION_ERRORS as exc:
            if stream is None:
                recorder.add("sse open", started, f"connect {type(exc).__name__}")
            else:
                recorder.stream_ends.append(StreamEnd(recorder.now(), type(exc).__name__))
        except Exception as exc:  # an answer this client cannot read: recorded, never fatal
            recorder.stream_ends.append(StreamEnd(recorder.now(), f"unreadable answer {type(exc).__name__}"))
        finally:
            for closable in (stream, poster):
                if closable is not None:
                    try:
                        await asyncio.wait_for(closable.close(), 1)
                    except (TimeoutError, *CONNECTION_ERRORS):
                        pass
        if not until():
            await asyncio.sleep(0.5)


async def readyz_poller(base_url: str, recorder: Recorder, until: Callable[[], bool], every: float = 0.5) -> None:
    """GET /readyz twice a second: its status, or 0 when nothing answers in a second."""
    connection: Connection | None = None
    while not until():
        status = 0
        try:
            if connection is None:
                connection = await asyncio.wait_for(Connection.open(base_url), 1)
            request = connection.encode("/readyz", {"Accept": "application/json"}, b"", method="GET")
            status = (await asyncio.wait_for(connection.send(request), 1)).status
        except (TimeoutError, *CONNECTION_ERRORS):
            if connection is not None:
                connection.writer.transport.abort()  # a stuck connection is dropped, not reused
            connection = None
        recorder.readyz.append((recorder.now(), status))
        await asyncio.sleep(every)
