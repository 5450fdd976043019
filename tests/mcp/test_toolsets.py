"""Toolsets: `?toolsets=` and `X-Orchestra-Toolsets` narrow tools/list and tools/call."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests.conftest import AsgiResponse, asgi_request
from tests.mcp.helpers import auth, initialize, rpc
from tests.mcp.test_modern import headers_for, request
from tools.mcp.budget import catalogue_bytes, product_tools
from tools.mcp.registry import registry
from tools.mcp.toolsets import narrow
from tools.projects.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

HANDSHAKE = "2025-11-25"


async def post(token: str, session: str, body: Any, query: str = "", **headers: str) -> AsgiResponse:
    extra = {"mcp-session-id": session, "mcp-protocol-version": HANDSHAKE, **headers}
    return await asgi_request("POST", "/mcp", body=body, headers=auth(token, **extra), query_string=query)


async def listed(token: str, session: str, query: str = "", **headers: str) -> list[str]:
    response = await post(token, session, rpc("tools/list", {}), query, **headers)
    assert response.status == 200, response.body
    return [tool["name"] for tool in response.json()["result"]["tools"]]


def names_in(*categories: str) -> list[str]:
    return sorted(name for name, spec in registry().items() if spec.category in categories or name == "get_context")


async def test_query_parameter_narrows_the_list(alice_token, settings) -> None:
    settings.MCP_TOOLS_PAGE_SIZE = 500
    session = await initialize(alice_token)
    everything = await listed(alice_token, session)
    narrowed = await listed(alice_token, session, "toolsets=tasks,memory")
    assert narrowed == names_in("tasks", "memory")
    assert len(narrowed) == 14 and len(everything) > len(narrowed)
    assert "create_task" in narrowed and "store_memory" in narrowed and "create_project" not in narrowed


async def test_header_narrows_and_combines_with_the_query_as_an_intersection(alice_token, settings) -> None:
    settings.MCP_TOOLS_PAGE_SIZE = 500
    session = await initialize(alice_token)
    assert await listed(alice_token, session, **{"x-orchestra-toolsets": "projects"}) == names_in("projects")
    both = await listed(alice_token, session, "toolsets=tasks,specs", **{"x-orchestra-toolsets": "specs, notes"})
    assert both == names_in("specs")


async def test_a_tool_outside_the_toolsets_cannot_be_called(alice_token) -> None:
    session = await initialize(alice_token)
    call = rpc("tools/call", {"name": "create_project", "arguments": {"name": "Hidden"}})
    response = await post(alice_token, session, call, "toolsets=tasks")
    error = response.json()["error"]
    assert error["code"] == -32602 and "create_project" in error["message"] and "projects" in error["message"]
    assert error["data"] == {"toolset": "projects", "toolsets": ["tasks"]}
    assert not await sync_to_async(Project.unscoped.exists)()
    context = await post(
        alice_token, session, rpc("tools/call", {"name": "get_context", "arguments": {}}), "toolsets=tasks"
    )
    assert context.json()["result"]["isError"] is False


@pytest.mark.parametrize(
    ("query", "headers", "named"),
    [
        ("toolsets=tasks,nope", {}, "nope"),
        ("toolsets=", {}, "names no toolset"),
        ("", {"x-orchestra-toolsets": "billing"}, "billing"),
        ("toolsets=tasks", {"x-orchestra-toolsets": "memory"}, "no toolset in common"),
    ],
)
async def test_unknown_or_empty_toolsets_are_refused(alice_token, query, headers, named) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("tools/list", {}), query, **headers)
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == -32602 and named in error["message"]
    assert "tasks" in error["data"]["known"]


async def test_the_2026_revision_honours_toolsets(alice_token) -> None:
    body = request("tools/list", {})
    response = await asgi_request(
        "POST", "/mcp", body=body, headers=headers_for(body, alice_token), query_string="toolsets=decisions"
    )
    assert [t["name"] for t in response.json()["result"]["tools"]] == names_in("decisions")
    call = request("tools/call", {"name": "list_tasks", "arguments": {}})
    refused = await asgi_request(
        "POST", "/mcp", body=call, headers=headers_for(call, alice_token), query_string="toolsets=decisions"
    )
    assert refused.json()["error"]["code"] == -32602


def test_narrowed_catalogues_cost_less_context() -> None:
    full = catalogue_bytes()
    tasks_and_memory = catalogue_bytes(narrow(product_tools(), frozenset({"tasks", "memory"})))
    print(f"\ncatalogue bytes: all {full}, toolsets=tasks,memory {tasks_and_memory}")
    assert tasks_and_memory < full / 2
