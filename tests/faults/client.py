"""A small synchronous MCP client over Streamable HTTP, for tests that time each call
against a real server while its Redis or database comes and goes."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2

VERSION = "2025-11-25"


@dataclass
class Call:
    status: int
    body: Any
    headers: dict[str, str]
    seconds: float

    @property
    def ok(self) -> bool:
        """Answered, with a result that is not an error."""
        if self.status != 200 or not isinstance(self.body, dict) or "result" not in self.body:
            return False
        return not self.body["result"].get("isError", False)


@dataclass
class McpClient:
    url: str
    token: str
    timeout: float = 15.0
    session_id: str = ""
    http: httpx2.Client = field(default_factory=lambda: httpx2.Client(timeout=15.0))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def post(self, method: str, params: dict[str, Any] | None = None, *, notification: bool = False) -> Call:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        if not notification:
            message["id"] = next(self._ids)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json, text/event-stream"}
        if self.session_id:
            headers |= {"Mcp-Session-Id": self.session_id, "Mcp-Protocol-Version": VERSION}
        started = time.monotonic()
        response = self.http.post(f"{self.url}/mcp", json=message, headers=headers, timeout=self.timeout)
        elapsed = time.monotonic() - started
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        return Call(response.status_code, body, dict(response.headers), elapsed)

    def initialize(self) -> McpClient:
        info = {"name": "faults", "version": "1"}
        answer = self.post("initialize", {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": info})
        assert answer.status == 200, answer
        self.session_id = answer.headers["mcp-session-id"]
        assert self.post("notifications/initialized", notification=True).status == 202
        return self

    def tool(self, tool_name: str, /, **arguments: Any) -> Call:
        return self.post("tools/call", {"name": tool_name, "arguments": arguments})

    def structured(self, call: Call) -> Any:
        assert call.ok, call
        return call.body["result"]["structuredContent"]
