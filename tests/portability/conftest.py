"""An organization with a row of every kind (made through the tools), exports of it,
and an empty organization to import into."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest

from accounts.auth import TokenIdentity
from accounts.models import Organization, User
from accounts.services import organization_create
from portability.exporting import export_write
from tests.dashboard.dashboard_world import build, tool


@pytest.fixture(autouse=True)
def _files_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.PORTABILITY_DIR = tmp_path / "portability"


@pytest.fixture
def world(alice_id: TokenIdentity) -> dict[str, Any]:
    """dashboard_world's project (tasks in every status, a superseded decision with its
    discussion, two spec versions, a reviewed feature, a note), plus what it lacks: a
    work session, subtasks and blockers, memories of every scope that supersede each
    other, a note linking rows, a deleted memory, a custom activity."""
    made = build(alice_id)
    slug, agent = made["project"]["slug"], made["agent"]["slug"]
    session = tool(alice_id, "create_session", title="Sprint", goals=["ship"], agent=agent, project=slug)
    parent = made["tasks"]["todo"]["id"]
    sub = tool(
        alice_id, "create_task", title="Sub", project=slug, parent=parent, blocked_by=[made["tasks"]["backlog"]["id"]]
    )
    first = tool(alice_id, "store_memory", content="Staging is at staging.example", scope="agent", agent=agent)
    tool(alice_id, "store_memory", content="Staging moved to stage.example", scope="agent", agent=agent,
         supersedes=first["memory"]["id"])  # fmt: skip
    tool(alice_id, "store_memory", content="Session notes", scope="session", session=session["id"], tags=["sprint"])
    tool(alice_id, "store_memory", content="Everyone uses UTC", scope="organization", importance=9)
    gone = tool(alice_id, "store_memory", content="Forget me", scope="organization")
    tool(alice_id, "delete_memory", memory=gone["memory"]["id"])
    tool(alice_id, "create_note", title="Links", content="See", project=slug,
         links=["https://example.com/x", {"type": "task", "id": sub["id"]}])  # fmt: skip
    tool(alice_id, "log_activity", type="custom.checkpoint", description="built", project=slug, metadata={"n": 1})
    tool(alice_id, "create_project", name="Second")
    return {**made, "session": session, "subtask": sub}


@pytest.fixture
def dana(db: Any) -> User:
    return User.objects.create_user("dana@example.com", "pw-dana-123456", name="Dana")


@pytest.fixture
def initech(dana: User) -> Organization:
    """An empty organization to import into."""
    return organization_create(name="Initech", owner=dana)


def export_bytes(organization: Organization, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    export_write(out, organization=organization, **kwargs)
    return out.getvalue()


def lines_of(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    header, *rows = (orjson.loads(line) for line in data.splitlines())
    return header, rows
