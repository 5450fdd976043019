"""Every dashboard page costs a bounded number of queries, whatever the amount of data."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.actions import Action
from audit.services import record
from tests.dashboard.dashboard_world import build, tool

pytestmark = pytest.mark.django_db

# The most any dashboard page may cost (session, user, memberships and the page itself).
MAX_QUERIES = 18
# The search box runs the hybrid engine twice (memories, decisions): each run is a
# savepoint with two SET LOCALs around its vector query (memory.search), 8 statements
# that are not reads, on top of one query per kind and a keyword plan per hybrid run.
SEARCH = "/search/?q=Apollo+staging"
MAX_QUERIES_OF = {SEARCH: 20}


def pages(world: dict[str, Any]) -> list[str]:
    slug = world["project"]["slug"]
    return [
        "/",
        "/projects/",
        "/projects/?status=all",
        f"/projects/{slug}/",
        f"/projects/{slug}/?label=web&priority=high",
        f"/projects/{slug}/?fragment=board",
        f"/projects/{slug}/specs/",
        "/agents/",
        f"/agents/{world['agent']['slug']}/",
        f"/tasks/{world['tasks']['todo']['id']}/",
        f"/specs/{world['spec']['slug']}/",
        f"/specs/{world['spec']['slug']}/versions/1/",
        "/memories/",
        f"/memories/?project={slug}&scope=project",
        "/memories/?q=deploys+staging",
        f"/memories/{world['memory']['id']}/",
        "/decisions/",
        f"/decisions/?project={slug}&status=accepted",
        f"/decisions/{world['decision']['id']}/",
        "/features/",
        f"/features/{world['feature']['slug']}/",
        "/notes/",
        f"/notes/?q=notes&project={slug}",
        f"/notes/{world['note']['id']}/",
        "/activity/",
        f"/activity/?project={slug}",
        "/specs/",
        f"/specs/?project={slug}&status=draft",
        SEARCH,
        "/audit/",
        "/audit/?action=token.created&actor=alice",
    ]


def grow(identity: Any, world: dict[str, Any], n: int) -> None:
    """n more of every related row around the same project, task, decision, spec and feature."""
    slug = world["project"]["slug"]
    agent = world["agent"]["slug"]
    build(identity, f"Hermes {n}")
    for i in range(n):
        sub = tool(identity, "create_task", title=f"More {i}", project=slug, parent=world["tasks"]["todo"]["id"])
        tool(identity, "update_task", task=sub["id"], status="in_progress", assignee="bob@example.com")
        tool(identity, "update_task", task=world["tasks"]["todo"]["id"], labels=[f"l{i}"])
        tool(identity, "store_memory", content=f"Deploys to staging, fact {i}", scope="agent", agent=agent)
        tool(identity, "update_decision", decision=world["decision"]["id"], comment=f"Comment {i}", agent=agent)
        tool(identity, "update_spec", spec=world["spec"]["slug"], content=f"# Draft {i + 3}", change_note=f"n{i}")
        feature = world["feature"]["slug"]
        tool(identity, "submit_review", feature=feature, verdict="comment", comments=f"c{i}", agent=agent)
        links = [{"type": "task", "id": sub["id"]}]
        tool(identity, "create_note", title=f"Note {i}", content="notes", project=slug, links=links)
        with transaction.atomic():  # audit rows: by a person, and by one whose account is gone
            record(organization=identity.live_organization, action=Action.TOKEN_CREATED, actor=identity.user_id)
            record(organization=identity.live_organization, action=Action.MEMBER_LEFT, actor_label=f"gone{i}@x.org")


def costs(client: Client, urls: list[str]) -> dict[str, int]:
    counted = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counted[url] = len(queries)
    return counted


def test_no_page_costs_more_queries_as_data_grows(alice, bob, alice_id, django_assert_max_num_queries) -> None:
    world = build(alice_id)
    client = Client()
    client.force_login(alice)
    urls = pages(world)
    client.get("/")  # the session's organization is settled on the first request
    grow(alice_id, world, 1)  # one of every related row...
    costs(client, urls)  # process caches warm (the search's word statistics, memory.keywords)
    small = costs(client, urls)
    grow(alice_id, world, 8)  # ...then many
    large = costs(client, urls)
    assert large == small, {url: (small[url], large[url]) for url in urls if small[url] != large[url]}
    for url in urls:
        with django_assert_max_num_queries(MAX_QUERIES_OF.get(url, MAX_QUERIES)):
            client.get(url)
