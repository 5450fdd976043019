"""What the pages show to connect an agent: .mcp.json blocks and the `claude` command."""

from __future__ import annotations

import json
import shlex
from typing import Any

from django.conf import settings

from accounts.services import IssuedToken
from accounts.snippets import mcp_json

PLACEHOLDER = "YOUR_TOKEN"


def connect_context(raw_token: str) -> dict[str, Any]:
    """The .mcp.json blocks for both transports and the `claude mcp add` command."""
    url = f"{settings.APP_URL}/mcp"
    header = f"Authorization: Bearer {raw_token}"
    command = shlex.join(["claude", "mcp", "add", "--transport", "http", "orchestra", url, "--header", header])
    return {
        "mcp_url": url,
        "sse_url": f"{settings.APP_URL}/mcp/sse",
        "http_json": json.dumps(mcp_json(raw_token, "http"), indent=2),
        "sse_json": json.dumps(mcp_json(raw_token, "sse"), indent=2),
        "claude_command": command,
    }


def issued_context(issued: IssuedToken) -> dict[str, Any]:
    return {"token": issued.token, "raw": issued.raw, **connect_context(issued.raw)}
