"""Acceptance: a real server server driven by the official `mcp` client."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts import tokens

pytestmark = [pytest.mark.acceptance]


@asynccontextmanager
async def connect(url: str, token: str, mode: str):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


@pytest.fixture
def sandbox_token(alice, acme, issue_token) -> str:
    return issue_token(alice, acme, mode="test")


@pytest.mark.parametrize("mode", ["legacy", "auto", "2026-07-28"])
async def test_tools_are_listed_and_called(live, alice_token, mode) -> None:
    async with connect(live.mcp_url, alice_token, mode) as client:
        listed = await client.list_tools()
        names = {tool.name for tool in listed.tools}
        assert {
            "get_context",
            "create_project",
            "list_projects",
            "get_project",
            "update_project",
            "archive_project",
        } <= names
        create = next(t for t in listed.tools if t.name == "create_project")
        assert create.output_schema and create.annotations.read_only_hint is False

        created = await client.call_tool("create_project", {"name": f"Mode {mode}"})
        assert created.is_error is False
        assert created.structured_content["slug"] == f"mode-{mode}"

        listed_projects = await client.call_tool("list_projects", {})
        assert [p["slug"] for p in listed_projects.structured_content["items"]] == [f"mode-{mode}"]

        context = await client.call_tool("get_context", {})
        assert context.structured_content["organization"]["slug"] == "acme"


@pytest.mark.parametrize("mode", ["legacy", "auto", "2026-07-28"])
async def test_errors_are_seen_as_errors(live, alice_token, mode) -> None:
    async with connect(live.mcp_url, alice_token, mode) as client:
        missing = await client.call_tool("get_project", {"project": "does-not-exist"})
        assert missing.is_error is True
        assert missing.content[0].text == "project not found: does-not-exist"
        invalid = await client.call_tool("create_project", {"name": ""})
        assert invalid.is_error is True and "name" in invalid.content[0].text
        failing = await client.call_tool("test_error_handling", {})
        assert failing.is_error is True


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_toolsets_in_the_url_narrow_the_catalogue(live, alice_token, mode) -> None:
    async with connect(f"{live.mcp_url}?toolsets=tasks", alice_token, mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "create_task" in names and "get_context" in names and "create_project" not in names
        assert (await client.call_tool("list_tasks", {})).is_error is False


async def test_auto_mode_adopts_the_2026_revision(live, alice_token) -> None:
    async with connect(live.mcp_url, alice_token, "auto") as client:
        assert client.session.protocol_version == "2026-07-28"
        assert (await client.call_tool("get_context", {})).is_error is False


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_progress_reaches_the_client(live, alice_token, mode) -> None:
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with connect(live.mcp_url, alice_token, mode) as client:
        result = await client.call_tool("test_tool_with_progress", {"steps": 3}, progress_callback=on_progress)
    assert result.structured_content == {"done": True, "steps": 3}
    assert seen == [(1, 3), (2, 3), (3, 3)]


async def test_test_token_never_sees_live_data(live, alice_token, sandbox_token) -> None:
    async with connect(live.mcp_url, alice_token, "auto") as client:
        await client.call_tool("create_project", {"name": "Live work"})
    async with connect(live.mcp_url, sandbox_token, "auto") as client:
        listed = await client.call_tool("list_projects", {"status": "all"})
        assert listed.structured_content["items"] == []
        assert (await client.call_tool("get_project", {"project": "live-work"})).is_error
        context = await client.call_tool("get_context", {})
        assert context.structured_content["organization"]["sandbox"] is True


async def test_another_organization_cannot_reach_projects(live, alice_token, charlie_token) -> None:
    async with connect(live.mcp_url, alice_token, "auto") as client:
        created = await client.call_tool("create_project", {"name": "Acme secret"})
    project_id = created.structured_content["id"]
    async with connect(live.mcp_url, charlie_token, "auto") as client:
        for ref in (project_id, "acme-secret"):
            result = await client.call_tool("get_project", {"project": ref})
            assert result.is_error and result.content[0].text == f"project not found: {ref}"


@pytest.mark.parametrize("mode", ["legacy", "auto", "2026-07-28"])
async def test_a_bad_token_cannot_connect(live, mode, db: Any) -> None:
    with pytest.raises(Exception):  # noqa: B017  (the client raises its own error types)
        async with connect(live.mcp_url, tokens.generate("live"), mode) as client:
            await client.list_tools()  # 2026-07-28 connects without a request: the first call fails


async def test_rest_and_mcp_give_the_same_result(live, alice_token) -> None:
    async with connect(live.mcp_url, alice_token, "legacy") as client:
        created = await client.call_tool("create_project", {"name": "Same"})
        via_mcp = await client.call_tool("get_project", {"project": "same"})
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice_token}"}) as http:
        via_rest = (await http.post(f"{live.url}/api/v1/tools/get_project", json={"project": "same"})).json()
    assert created.structured_content["id"] == via_rest["id"]
    assert via_rest == via_mcp.structured_content
