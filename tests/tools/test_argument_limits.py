"""Every JSON argument is bounded before anything is written (depth at most 32,
integers within ±(2^53-1), a size per argument), and rows stored beyond those bounds
before (or by SQL) still read without a 500."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from memory.models import Memory
from tests.conftest import asgi_request, error_code, ok
from tests.mcp.helpers import auth, initialize, next_event, open_stream, post, rpc
from tools.mcp.registry import MAX_ARGUMENT_DEPTH, MAX_JSON_ARGUMENT_BYTES
from tools.projects.models import Project

SAFE = 2**53 - 1


def nested(depth: int) -> dict:
    """An object `depth` levels deep: {"k": {"k": ... 1}}."""
    value: object = 1
    for _ in range(depth):
        value = {"k": value}
    assert isinstance(value, dict)
    return value


def problems(outcome) -> list[dict]:
    assert error_code(outcome) == "invalid_arguments", outcome.structured
    return outcome.structured["error"]["details"]["problems"]


def test_depth_is_at_most_32_and_checked_before_any_write(call, alice_id, acme) -> None:
    assert MAX_ARGUMENT_DEPTH == 32
    ok(call(alice_id, "create_project", name="Deep enough", settings=nested(32)))
    for depth in (33, 300):
        found = problems(call(alice_id, "create_project", name=f"Too deep {depth}", settings=nested(depth)))
        assert found[0]["argument"].startswith("settings") and "32" in found[0]["problem"]
    assert list(Project.unscoped.values_list("name", flat=True)) == ["Deep enough"]
    assert ok(call(alice_id, "list_projects"))["items"][0]["name"] == "Deep enough"


def test_integers_stay_within_what_every_json_client_reads(call, alice_id, acme) -> None:
    ok(call(alice_id, "store_memory", content="at the edge", metadata={"n": SAFE, "m": -SAFE}))
    for value in (SAFE + 1, -(SAFE + 1), 2**64, 2**70):
        found = problems(call(alice_id, "store_memory", content=f"beyond {value}", metadata={"x": [1, {"n": value}]}))
        assert found[0]["argument"] == "metadata.x.1.n" and "2^53" in found[0]["problem"]
    assert Memory.unscoped.count() == 1
    listed = ok(call(alice_id, "list_memories"))["items"]
    assert listed[0]["metadata"] == {"n": SAFE, "m": -SAFE}


def test_a_free_form_argument_has_a_size(call, alice_id, acme) -> None:
    just_under = {"blob": "x" * (MAX_JSON_ARGUMENT_BYTES - 20)}
    ok(call(alice_id, "store_memory", content="big but fine", metadata=just_under))
    found = problems(
        call(alice_id, "store_memory", content="too big", metadata={"blob": "x" * MAX_JSON_ARGUMENT_BYTES})
    )
    assert found[0]["argument"] == "metadata" and str(MAX_JSON_ARGUMENT_BYTES) in found[0]["problem"]
    assert Memory.unscoped.count() == 1


def test_rest_applies_the_same_limits(alice_token, acme) -> None:
    client = Client()
    response = client.post(
        "/api/v1/tools/create_project",
        data=json.dumps({"name": "Deep", "settings": nested(40)}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_token}",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_arguments"
    big = client.post(
        "/api/v1/tools/store_memory",
        data=json.dumps({"content": "big int", "metadata": {"n": 2**60}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_token}",
    )
    assert big.status_code == 400 and big.json()["error"]["code"] == "invalid_arguments"
    assert not Project.unscoped.exists() and not Memory.unscoped.exists()


# --- rows stored beyond the limits still read -------------------------------------------


def deep_json(depth: int, leaf: str = "1") -> str:
    return '{"k":' * depth + leaf + "}" * depth


@pytest.fixture
def poisoned(call, alice_id, acme) -> dict[str, str]:
    """A project whose settings are 300 deep and a memory holding a 70-bit integer and
    a 300-deep value, written by SQL as older code (or anyone with the database) could."""
    project = ok(call(alice_id, "create_project", name="Poisoned"))
    memory = ok(call(alice_id, "store_memory", content="poisoned memory about deployments"))["memory"]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE projects_project SET settings = %s::jsonb WHERE id = %s", [deep_json(300), project["id"]]
        )
        cursor.execute(
            "UPDATE memory_memory SET metadata = %s::jsonb WHERE id = %s",
            ['{"big": ' + str(2**70) + ', "neg": -' + str(2**64) + ', "deep": ' + deep_json(300) + "}", memory["id"]],
        )
    return {"project": project["id"], "memory": memory["id"]}


def walk_to_leaf(value: object) -> object:
    while isinstance(value, dict):
        value = value["k"]
    return value


def test_stored_rows_beyond_the_limits_read_through_every_tool(call, alice_id, poisoned) -> None:
    projects = ok(call(alice_id, "list_projects"))["items"]
    assert [p["name"] for p in projects] == ["Poisoned"]
    # Shown in full down to a depth, then as JSON text: nothing is lost.
    settings = ok(call(alice_id, "get_project", project="poisoned"))["settings"]
    leaf = walk_to_leaf(settings)
    assert isinstance(leaf, str) and json.loads(leaf)
    memories = ok(call(alice_id, "list_memories"))["items"]
    metadata = memories[0]["metadata"]
    # Integers no JSON client holds exactly are written as strings, every digit kept.
    assert metadata["big"] == str(2**70) and metadata["neg"] == str(-(2**64))
    ok(call(alice_id, "get_memory", memory=poisoned["memory"]))
    hits = ok(call(alice_id, "search_memory", query="deployments"))["items"]
    assert hits and hits[0]["metadata"]["big"] == str(2**70)


@pytest.mark.django_db(transaction=True)
async def test_stored_rows_beyond_the_limits_read_over_mcp_and_rest(alice_token, poisoned) -> None:
    session = await initialize(alice_token)
    for name, arguments in (("list_projects", {}), ("list_memories", {}), ("search_memory", {"query": "deployments"})):
        response = await post(alice_token, session, rpc("tools/call", {"name": name, "arguments": arguments}))
        assert response.status == 200, response.body
        result = response.json()["result"]
        assert result["isError"] is False and json.loads(result["content"][0]["text"]) == result["structuredContent"]
        rest = await asgi_request(
            "POST",
            f"/api/v1/tools/{name}",
            body=arguments,
            headers=auth(alice_token, **{"content-length": str(len(json.dumps(arguments)))}),
        )
        assert rest.status == 200, rest.body


@pytest.mark.django_db(transaction=True)
async def test_stored_rows_beyond_the_limits_read_over_legacy_sse(alice_token, poisoned) -> None:
    communicator, session_id = await open_stream(alice_token)

    async def send(message: dict) -> None:
        response = await asgi_request(
            "POST", "/mcp/messages/", body=message, headers=auth(alice_token), query_string=f"session_id={session_id}"
        )
        assert response.status == 202

    await send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2024-11-05"}})
    assert (await next_event(communicator))["id"] == 0
    for request_id, (name, arguments) in enumerate(
        (("list_memories", {}), ("search_memory", {"query": "deployments"}), ("list_projects", {})), start=1
    ):
        await send(rpc("tools/call", {"name": name, "arguments": arguments}, request_id=request_id))
        answer = await next_event(communicator)
        assert answer["id"] == request_id and answer["result"]["isError"] is False, answer
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(5)
