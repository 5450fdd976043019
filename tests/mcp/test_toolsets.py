"""Toolsets and tool names (`?toolsets=`, `X-Orchestra-Toolsets`, `?tools=`,
`X-Orchestra-Tools`) narrow tools/list and tools/call; a read-only token is not shown the
tools it cannot call."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests.conftest import AsgiResponse, asgi_request
from tests.mcp.helpers import auth, initialize, rpc
from tests.mcp.test_modern import headers_for, request
from tools.mcp.budget import catalogue_bytes, product_tools
from tools.mcp.registry import registry
from tools.mcp.toolsets import Selection, narrow
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
    tasks_and_memory = catalogue_bytes(narrow(product_tools(), Selection(categories=frozenset({"tasks", "memory"}))))
    print(f"\ncatalogue bytes: all {full}, toolsets=tasks,memory {tasks_and_memory}")
    assert tasks_and_memory < full / 2


async def test_tool_names_narrow_the_list_and_the_calls(alice_token, settings) -> None:
    settings.MCP_TOOLS_PAGE_SIZE = 500
    session = await initialize(alice_token)
    assert await listed(alice_token, session, "tools=create_task,get_task") == [
        "create_task",
        "get_context",
        "get_task",
    ]
    header = {"x-orchestra-tools": "get_task, list_tasks"}
    assert await listed(alice_token, session, "tools=create_task,get_task", **header) == ["get_context", "get_task"]
    # With toolsets too, a tool must be in both.
    assert await listed(alice_token, session, "toolsets=memory&tools=create_task,store_memory") == [
        "get_context",
        "store_memory",
    ]
    call = rpc("tools/call", {"name": "create_project", "arguments": {"name": "Hidden"}})
    error = (await post(alice_token, session, call, "tools=create_task")).json()["error"]
    assert error["code"] == -32602 and "create_project" in error["message"]
    assert error["data"] == {"tools": ["create_task"]}
    assert not await sync_to_async(Project.unscoped.exists)()


@pytest.mark.parametrize(
    ("query", "headers", "named"),
    [
        ("tools=create_task,make_coffee", {}, "make_coffee"),
        ("tools=", {}, "names no tool"),
        ("tools=create_task", {"x-orchestra-tools": "get_task"}, "no tool in common"),
    ],
)
async def test_unknown_tool_names_are_refused(alice_token, query, headers, named) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("tools/list", {}), query, **headers)
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == -32602 and named in error["message"]
    assert "create_task" in error["data"]["known"]


async def test_a_read_only_token_lists_only_what_it_can_call(alice, acme, issue_token, settings) -> None:
    settings.MCP_TOOLS_PAGE_SIZE = 500
    reader = await sync_to_async(issue_token)(alice, acme, scopes=["read"])
    session = await initialize(reader)
    names = set(await listed(reader, session))
    expected = {name for name, spec in registry().items() if spec.read_only or spec.writes_when is not None}
    assert names == expected
    assert "list_tasks" in names and "get_next_task" in names  # it may still peek at the queue
    assert "create_task" not in names and "store_memory" not in names
    # A writer sees the whole catalogue.
    writer = await sync_to_async(issue_token)(alice, acme)
    assert len(await listed(writer, await initialize(writer))) == len(registry())
