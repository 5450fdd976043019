"""Every GitHub tool through the official `mcp` client against a real server whose
GitHub is the stand-in: connect, sync (in the server's background), list, open a pull
request, commit CLAUDE.md twice into one pull request; a test token's dry runs."""

from __future__ import annotations

import asyncio
import time

import pytest

from githubint.services import connection_link_installation
from orchestra.actor import Actor
from tests.acceptance.test_mcp_client import connect

pytestmark = [pytest.mark.acceptance]


@pytest.fixture
def installed(github, alice, acme, transactional_db):
    github.add_repo("acme/widgets", branches=("main", "feature", "more"))
    github.commit("acme/widgets", "feature", {"app.py": "print(1)\n"}, "Add the app")
    github.commit("acme/widgets", "more", {"more.py": "print(2)\n"}, "More")
    installation = github.add_installation("acme", ["acme/widgets"])
    connection_link_installation(
        actor=Actor(user_id=alice.pk),
        organization=acme,
        installation_id=installation.id,
        account_login="acme",
        account_type="Organization",
    )
    return github


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_github_tools_over_mcp(github_server, installed, alice, acme, issue_token, mode) -> None:
    from asgiref.sync import sync_to_async

    token = await sync_to_async(issue_token)(alice, acme)
    test_token = await sync_to_async(issue_token)(alice, acme, mode="test")
    async with connect(github_server.mcp_url, token, mode) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("connect_repo", "list_repos", "sync_repo", "create_pr", "generate_claude_md"):
            assert listed[name].annotations.open_world_hint is True, name
        assert listed["list_repos"].annotations.read_only_hint is True
        project = (await client.call_tool("create_project", {"name": "Widgets"})).structured_content["slug"]
        repo = await client.call_tool("connect_repo", {"project": project, "full_name": "acme/widgets"})
        assert repo.is_error is False and repo.structured_content["sync_status"] in ("pending", "syncing", "ok")
        deadline = time.monotonic() + 20
        while True:
            items = (await client.call_tool("list_repos", {})).structured_content["items"]
            if items[0]["sync_status"] == "ok" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert items[0]["sync_status"] == "ok" and items[0]["branches"] == ["feature", "main", "more"]
        again = await client.call_tool("sync_repo", {"repository": "acme/widgets"})
        assert again.structured_content["sync_status"] in ("pending", "syncing")
        pr = await client.call_tool("create_pr", {"repository": "acme/widgets", "title": "App", "head": "feature"})
        assert pr.is_error is False and pr.structured_content["number"] == 1
        refused = await client.call_tool("create_pr", {"repository": "acme/widgets", "title": "x", "head": "nope"})
        assert refused.is_error is True and "nope" in refused.content[0].text
        first = await client.call_tool(
            "generate_claude_md", {"project": project, "repository": "acme/widgets", "commit": True}
        )
        assert first.structured_content["action"] == "opened"
        await client.call_tool("create_task", {"title": "Ship it", "project": project, "priority": "high"})
        second = await client.call_tool(
            "generate_claude_md", {"project": project, "repository": "acme/widgets", "commit": True}
        )
        assert second.structured_content["action"] == "updated"
        assert second.structured_content["pull_request"] == first.structured_content["pull_request"]
    async with connect(github_server.mcp_url, test_token, mode) as client:
        sandbox_project = (await client.call_tool("create_project", {"name": "Try"})).structured_content["slug"]
        repo = await client.call_tool("connect_repo", {"project": sandbox_project, "full_name": "acme/widgets"})
        dry = await client.call_tool(
            "create_pr", {"repository": repo.structured_content["id"], "title": "Try", "head": "feature"}
        )
        # The live pull request from feature is open: the dry run says so as GitHub would.
        assert dry.is_error is True and "already exists" in dry.content[0].text
        dry = await client.call_tool(
            "create_pr", {"repository": repo.structured_content["id"], "title": "Try", "head": "more"}
        )
        assert dry.is_error is False and dry.structured_content["dry_run"] is True
        assert dry.structured_content["number"] is None and dry.structured_content["base"] == "main"
    widgets = installed.repos["acme/widgets"]
    assert len(widgets.pulls) == 2  # the agent's and CLAUDE.md's, nothing from the sandbox
