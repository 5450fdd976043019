"""Connect to a running Orchestra with the official MCP client and call a tool."""

import asyncio
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, token: str) -> None:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http), mode="auto") as client:
        tools = await client.list_tools()
        context = await client.call_tool("get_context", {})
        assert not context.is_error, context
        print(f"smoke: {len(tools.tools)} tools, organization {context.structured_content['organization']['slug']}")


asyncio.run(main(sys.argv[1], sys.argv[2]))
