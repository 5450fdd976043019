"""Ready-to-paste `.mcp.json` blocks for a token."""

from __future__ import annotations

import json

from django.conf import settings


def mcp_json(raw_token: str, transport: str) -> dict[str, object]:
    url = f"{settings.APP_URL}/mcp/sse" if transport == "sse" else f"{settings.APP_URL}/mcp"
    return {
        "mcpServers": {
            "orchestra": {"type": transport, "url": url, "headers": {"Authorization": f"Bearer {raw_token}"}}
        }
    }


def mcp_json_snippets(raw_token: str) -> str:
    http = json.dumps(mcp_json(raw_token, "http"), indent=2)
    sse = json.dumps(mcp_json(raw_token, "sse"), indent=2)
    return f"\n.mcp.json for Streamable HTTP (recommended):\n{http}\n\n.mcp.json for SSE (older clients):\n{sse}\n"
