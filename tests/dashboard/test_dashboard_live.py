"""The live activity feed: who may listen (a signed-in member of the organization asked
for, from an allowed origin), what they hear (their organization's rows, once committed,
rendered and escaped), and that publishing never breaks a tool call."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from accounts.auth import authenticate_token
from accounts.models import Membership, User
from orchestra.actor import Actor
from orchestra.asgi import application
from orchestra.tenancy import tenant_scope
from tools.activity import live
from tools.activity.services import activity_record
from tools.mcp.dispatch import call_tool

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "http://127.0.0.1:8000"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def session_of(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def socket(query: str, *, session: str | None = None, origin: str = ORIGIN) -> WebsocketCommunicator:
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", origin.encode())]
    if session is not None:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return WebsocketCommunicator(application, f"/ws/activity/?{query}", headers=headers)


async def tool(identity: Any, name: str, /, **arguments: Any) -> dict[str, Any]:
    outcome = await sync_to_async(call_tool)(name, arguments, identity)
    assert not outcome.is_error, outcome.structured
    return outcome.structured


async def next_row(communicator: WebsocketCommunicator) -> dict[str, Any]:
    return json.loads(await communicator.receive_from(timeout=5))


@pytest.fixture
def alice_session(alice: User, acme: Any) -> str:
    return session_of(alice)


async def test_a_member_hears_committed_tool_calls_rendered_and_escaped(alice_session, acme, alice_token) -> None:
    identity = await sync_to_async(authenticate_token)(alice_token)
    communicator = socket(f"organization={acme.pk}", session=alice_session)
    connected, _ = await communicator.connect()
    assert connected
    project = await tool(identity, "create_project", name="Apollo")
    row = await next_row(communicator)
    assert row["html"].startswith(f'<li class="feed-item fresh" id="activity-{row["id"]}"')
    assert "project.created" in row["html"]
    task = await tool(identity, "create_task", title=f"Ship it {HOSTILE}", project=project["slug"])
    row = await next_row(communicator)
    assert "task.created" in row["html"] and f'href="/tasks/{task["id"]}/"' in row["html"]
    # What changed, for a page showing it (the project board refreshes on a task's row).
    assert row["target_type"] == "task" and row["target_id"] == task["id"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in row["html"] and "<script" not in row["html"]
    assert "<img" not in row["html"]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_a_project_feed_hears_only_its_project(alice_session, acme, alice_token) -> None:
    identity = await sync_to_async(authenticate_token)(alice_token)
    apollo = await tool(identity, "create_project", name="Apollo")
    communicator = socket(f"organization={acme.pk}&project={apollo['id']}", session=alice_session)
    assert (await communicator.connect())[0]
    await tool(identity, "create_project", name="Hermes")
    await tool(identity, "log_activity", type="deploy.finished", description="Apollo shipped", project=apollo["slug"])
    row = await next_row(communicator)
    assert "Apollo shipped" in row["html"]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_other_organizations_and_the_sandbox_are_not_heard(
    alice_session, acme, alice, charlie_token, issue_token
) -> None:
    communicator = socket(f"organization={acme.pk}", session=alice_session)
    assert (await communicator.connect())[0]
    charlie = await sync_to_async(authenticate_token)(charlie_token)
    await tool(charlie, "create_project", name="Zeus")
    sandbox_token = await sync_to_async(issue_token)(alice, acme, mode="test")
    sandbox = await sync_to_async(authenticate_token)(sandbox_token)
    await tool(sandbox, "create_project", name="Playground")
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("who", "query", "origin"),
    [
        ("nobody", "organization={acme}", ORIGIN),  # not signed in
        ("charlie", "organization={acme}", ORIGIN),  # signed in, not a member
        ("alice", "organization={sandbox}", ORIGIN),  # the sandbox has no members
        ("alice", "organization={acme}", "https://evil.example"),  # another site's page
        ("alice", "organization=not-a-uuid", ORIGIN),
        ("alice", "", ORIGIN),
        ("alice", "organization={acme}&project=nope", ORIGIN),
    ],
)
async def test_who_may_not_listen(who, query, origin, alice, charlie, acme, globex) -> None:
    session = None if who == "nobody" else await sync_to_async(session_of)({"alice": alice, "charlie": charlie}[who])
    sandbox_id = await sync_to_async(lambda: acme.sandbox.pk)()
    communicator = socket(query.format(acme=acme.pk, sandbox=sandbox_id), session=session, origin=origin)
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_suspended_organization_refuses_listeners(alice_session, acme) -> None:
    from accounts.services import organization_suspend

    await sync_to_async(organization_suspend)(organization=acme)
    assert not (await socket(f"organization={acme.pk}", session=alice_session).connect())[0]


async def test_a_removed_member_is_cut_off_at_the_next_row(bob, acme, alice_token) -> None:
    session = await sync_to_async(session_of)(bob)
    identity = await sync_to_async(authenticate_token)(alice_token)
    communicator = socket(f"organization={acme.pk}", session=session)
    assert (await communicator.connect())[0]
    await tool(identity, "create_project", name="Before")
    assert "Before" in (await next_row(communicator))["html"]
    await sync_to_async(lambda: Membership.objects.filter(user=bob).delete())()
    await tool(identity, "create_project", name="After")
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": live.CLOSE_NOT_A_MEMBER}


def test_rows_are_published_on_commit_only(acme, alice, monkeypatch) -> None:
    published: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(live, "publish", lambda org, event: published.append((org, event)))
    actor = Actor(user_id=alice.pk, token_id=None, tool="test")
    with tenant_scope(acme):
        with pytest.raises(RuntimeError), transaction.atomic():
            activity_record(actor=actor, type="custom.rolled-back")
            raise RuntimeError("the change failed")
        assert published == []
        with transaction.atomic():
            row = activity_record(actor=actor, type="custom.kept")
            assert published == []  # not before the commit
    event = {"type": live.EVENT_TYPE, "id": str(row.pk), "project_id": None, "target_type": "", "target_id": None}
    assert published == [(acme.pk, event)]


class BrokenLayer:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        raise ConnectionError("redis is down")


class StuckLayer:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        import asyncio

        await asyncio.sleep(30)


@pytest.mark.parametrize("layer", [BrokenLayer(), StuckLayer()], ids=["broken", "stuck"])
def test_a_failing_channel_layer_never_fails_the_tool_call(layer, alice_id, acme, monkeypatch, caplog) -> None:
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(live, "PUBLISH_TIMEOUT_SECONDS", 0.2)
    with caplog.at_level(logging.WARNING, logger="tools.activity.live"):
        outcome = call_tool("create_project", {"name": "Resilient"}, alice_id)
    assert not outcome.is_error, outcome.structured
    with tenant_scope(acme):
        from tools.projects.models import Project

        assert Project.objects.filter(slug="resilient").exists()
    assert "could not be published" in caplog.text
