"""The reference: a trivial tool on the official SDK's MCPServer, Streamable HTTP on uvicorn."""

from __future__ import annotations

import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer(name="reference", version="1.0.0")


@server.tool()
def echo(text: str = "hi") -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    port = int(sys.argv[1])
    app = server.streamable_http_app(json_response=True, host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
