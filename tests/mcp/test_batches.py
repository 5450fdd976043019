"""JSON-RPC batches on /mcp are bounded: only revision 2025-03-26 has them, at most 50
messages, each counted against the rate limit, stopped when the token stops being
valid, and the answer stops growing at a few MiB."""

from __future__ import annotations

import threading

import pytest
from asgiref.sync import sync_to_async

from accounts import tokens
from accounts.models import MCPToken
from accounts.services import token_revoke
from tests.mcp.helpers import initialize, post, rpc
from tools.mcp import endpoint
from tools.projects.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

BATCH_REVISION = "2025-03-26"


def create_project(name: str) -> dict:
    return rpc("tools/call", {"name": "create_project", "arguments": {"name": name}})


async def project_count() -> int:
    return await sync_to_async(Project.unscoped.count)()


@pytest.mark.parametrize("version", ["2024-11-05", "2025-06-18", "2025-11-25"])
async def test_batches_are_refused_outside_2025_03_26(alice_token, version) -> None:
    session = await initialize(alice_token, version)
    response = await post(alice_token, session, [create_project("A"), create_project("B")], version=version)
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == -32600 and "2025-03-26" in error["message"]
    assert await project_count() == 0
    # Without the version header the session's own revision decides.
    without_header = await post(alice_token, session, [rpc("ping"), rpc("ping")], version=None)
    assert without_header.status == 400 and without_header.json()["error"]["code"] == -32600


async def test_a_2025_03_26_batch_is_answered(alice_token) -> None:
    session = await initialize(alice_token, BATCH_REVISION)
    for version in (BATCH_REVISION, None):  # a 2025-03-26 client sends no version header
        response = await post(alice_token, session, [rpc("ping", request_id=1), rpc("ping", request_id=2)], version)
        assert response.status == 200
        assert [answer["id"] for answer in response.json()] == [1, 2]


async def test_a_batch_holds_at_most_50_messages(alice_token) -> None:
    session = await initialize(alice_token, BATCH_REVISION)
    refused = await post(alice_token, session, [create_project(f"P{i}") for i in range(51)], BATCH_REVISION)
    assert refused.status == 400
    error = refused.json()["error"]
    assert error["code"] == -32600 and "50" in error["message"]
    assert await project_count() == 0
    accepted = await post(alice_token, session, [rpc("ping") for _ in range(50)], BATCH_REVISION)
    assert accepted.status == 200 and len(accepted.json()) == 50


async def test_every_message_of_a_batch_counts_against_the_rate_limit(one_rate_window, alice_token, settings) -> None:
    settings.MCP_RATE_LIMIT_PER_MINUTE = 20
    session = await initialize(alice_token, BATCH_REVISION)  # two requests
    first = await post(alice_token, session, [rpc("ping") for _ in range(10)], BATCH_REVISION)
    assert first.status == 200
    assert first.headers["x-ratelimit-remaining"] == str(20 - 2 - 10)
    # Ten more would pass the limit: the whole batch is refused and nothing runs.
    second = await post(alice_token, session, [create_project(f"P{i}") for i in range(10)], BATCH_REVISION)
    assert second.status == 429 and "retry-after" in second.headers
    assert await project_count() == 0


async def test_a_batch_stops_at_the_first_message_whose_token_is_no_longer_valid(alice_token) -> None:
    session = await initialize(alice_token, BATCH_REVISION)
    token = await sync_to_async(MCPToken.objects.get)(digest=tokens.parse(alice_token).digest)  # type: ignore[union-attr]
    batch = [
        rpc("tools/call", {"name": "test_slow", "arguments": {"seconds": 0.6}}, request_id="slow"),
        *(rpc("tools/call", create_project(f"P{i}")["params"], request_id=i) for i in (0, 1, 2)),
    ]
    # Revoked from another thread while the first message runs.
    revoker = threading.Timer(0.2, lambda: token_revoke(token=MCPToken.objects.get(pk=token.pk)))
    revoker.start()
    try:
        response = await post(alice_token, session, batch, BATCH_REVISION)
    finally:
        revoker.join()
    answers = {answer["id"]: answer for answer in response.json()}
    assert "result" in answers["slow"]
    for i in range(3):
        assert answers[i]["error"]["code"] == -32600
        assert answers[i]["error"]["data"]["reason"] == "invalid_token"
    assert await project_count() == 0
    later = await post(alice_token, session, rpc("ping"), BATCH_REVISION)
    assert later.status == 401


async def test_a_batch_answer_stops_growing_at_its_size_limit(alice_token, monkeypatch) -> None:
    session = await initialize(alice_token, BATCH_REVISION)
    one_page = len((await post(alice_token, session, rpc("tools/list"), BATCH_REVISION)).body)
    monkeypatch.setattr(endpoint, "MAX_BATCH_ANSWER_BYTES", one_page * 3)
    batch = [rpc("tools/list", request_id=i) for i in range(10)] + [create_project("late")]
    response = await post(alice_token, session, batch, BATCH_REVISION)
    assert response.status == 200
    answers = response.json()
    assert len(answers) == 11
    answered = [a for a in answers if "result" in a]
    assert 3 <= len(answered) <= 4  # it stops adding answers once past the limit
    assert len(response.body) < one_page * 5
    skipped = [a for a in answers if "error" in a]
    assert all(a["error"]["data"]["reason"] == "answer_too_large" for a in skipped)
    assert await project_count() == 0  # the messages it did not answer did not run


async def test_a_batch_of_memory_methods_is_counted_per_message_too(alice_token) -> None:
    session = await initialize(alice_token, BATCH_REVISION)
    single = await post(alice_token, session, rpc("tools/list"), BATCH_REVISION)  # token and session now cached
    before = int(single.headers["x-ratelimit-remaining"])
    response = await post(alice_token, session, [rpc("tools/list"), *(rpc("ping") for _ in range(9))], BATCH_REVISION)
    assert response.status == 200 and len(response.json()) == 10
    assert int(response.headers["x-ratelimit-remaining"]) == before - 10
