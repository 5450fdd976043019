"""Requests are bounded on every route and transport, in the ASGI application itself:
bodies are refused at the first byte over their route's limit (413, a JSON error),
and JSON nested too deep is refused at once with a clear error."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import ApplicationCommunicator

from orchestra.asgi import application
from tests.conftest import DEFAULT_HEADERS, asgi_request, http_scope
from tests.mcp.helpers import auth, initialize, next_event, open_stream, post
from tools.projects.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024


def nested(depth: int) -> str:
    """A JSON value nested `depth` containers deep."""
    return "[" * depth + "]" * depth


def deep_call(depth: int) -> bytes:
    """A create_project call whose settings are nested `depth` deep."""
    settings = '{"x":' + nested(depth - 1) + "}"
    return (
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_project",'
        '"arguments":{"name":"Deep","settings":' + settings + "}}}"
    ).encode()


async def project_count() -> int:
    return await sync_to_async(Project.unscoped.count)()


# --- depth ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [200, 1_010, 5_000])
async def test_deep_json_on_mcp_is_an_invalid_request_answered_at_once(alice_token, depth) -> None:
    session = await initialize(alice_token)
    started = time.monotonic()
    response = await post(alice_token, session, deep_call(depth))
    assert time.monotonic() - started < 2
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == -32600 and "nested deeper than" in error["message"]
    assert await project_count() == 0


async def test_deep_json_on_the_stateless_revision_is_an_invalid_request(alice_token) -> None:
    headers = auth(alice_token, **{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call"})
    response = await asgi_request("POST", "/mcp", body=deep_call(1_010), headers=headers, timeout=5)
    assert response.status == 400 and response.json()["error"]["code"] == -32600


async def test_deep_json_on_legacy_sse_is_refused_and_the_stream_lives_on(alice_token) -> None:
    communicator, session_id = await open_stream(alice_token)

    async def post_message(body: Any) -> Any:
        return await asgi_request(
            "POST", "/mcp/messages/", body=body, headers=auth(alice_token), query_string=f"session_id={session_id}"
        )

    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2024-11-05"}}
    assert (await post_message(init)).status == 202
    assert (await next_event(communicator))["id"] == 0
    deep = await post_message(deep_call(1_010))
    assert deep.status == 400 and deep.json()["error"]["code"] == -32600
    assert (await post_message({"jsonrpc": "2.0", "id": 7, "method": "ping"})).status == 202
    assert await next_event(communicator) == {"jsonrpc": "2.0", "id": 7, "result": {}}
    assert await project_count() == 0
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(5)


@pytest.mark.parametrize("depth", [1_010, 5_000])
async def test_deep_json_on_rest_is_a_json_400(alice_token, depth) -> None:
    body = '{"name":"Deep","settings":{"x":' + nested(depth) + "}}"
    headers = auth(alice_token, **{"content-length": str(len(body))})  # as every client sends it
    response = await asgi_request("POST", "/api/v1/tools/create_project", body=body, headers=headers, timeout=5)
    assert response.status == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "nested deeper than" in response.json()["error"]["message"]
    assert await project_count() == 0


# --- body size --------------------------------------------------------------------------


async def send_in_chunks(
    path: str, headers: dict[str, str], chunks: int, chunk_size: int, query_string: str = ""
) -> tuple[dict[str, Any], int, bytes]:
    """Send a body chunk by chunk and stop as soon as a response starts: (the response
    start, how many chunks had been sent, the response body)."""
    header_list = [*{**DEFAULT_HEADERS, **headers}.items()]
    communicator = ApplicationCommunicator(
        application, http_scope("POST", path, header_list, query_string=query_string)
    )
    sent = 0
    start: dict[str, Any] | None = None
    for sent in range(1, chunks + 1):
        await communicator.send_input({"type": "http.request", "body": b"a" * chunk_size, "more_body": sent < chunks})
        if not await communicator.receive_nothing(0.1):
            start = await communicator.receive_output(1)
            break
    assert start is not None, "no response while the body was arriving"
    body = (await communicator.receive_output(5)).get("body", b"")
    await communicator.wait(5)
    return start, sent, body


async def test_a_body_is_refused_at_the_first_byte_over_the_limit_without_a_token(db) -> None:
    start, sent, body = await send_in_chunks(
        "/mcp/messages/", {}, chunks=40, chunk_size=256 * 1024, query_string="session_id=whatever"
    )
    assert start["status"] == 413
    assert sent == 5  # 1.25 MiB: the first chunk past 1 MiB, not the 10 MiB announced
    headers = dict(start["headers"])
    assert headers[b"connection"] == b"close" and headers[b"content-type"] == b"application/json"
    error = json.loads(body)["error"]
    assert error["code"] == -32600 and error["data"]["limit_bytes"] == MIB


async def test_a_declared_length_over_the_limit_is_refused_before_reading(alice_token) -> None:
    response = await asgi_request(
        "POST", "/mcp", body=b"{}", headers=auth(alice_token, **{"content-length": str(2 * MIB)})
    )
    assert response.status == 413 and response.json()["error"]["code"] == -32600


async def test_rest_refuses_a_large_body_with_the_json_error(alice_token) -> None:
    # Valid arguments padded with whitespace: 2.4 MiB that the tool would take.
    body = '{"name": "Big"' + " " * (2 * MIB + 400 * 1024) + "}"
    headers = auth(alice_token, **{"content-length": str(len(body))})
    response = await asgi_request("POST", "/api/v1/tools/create_project", body=body, headers=headers)
    assert response.status == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert response.json()["error"]["details"] == {"limit_bytes": MIB}
    assert await project_count() == 0


async def test_limits_are_per_route(alice_token, settings) -> None:
    settings.API_MAX_BODY_BYTES = 10_000
    padding = "x" * 20_000
    rest = await asgi_request(
        "POST", "/api/v1/tools/list_projects", body={"cursor": padding}, headers=auth(alice_token)
    )
    assert rest.status == 413 and rest.json()["error"]["details"] == {"limit_bytes": 10_000}
    session = await initialize(alice_token)
    mcp = await post(alice_token, session, {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": padding}})
    assert mcp.status == 200
    # Web pages keep their own limit (larger than MCP's): a form post of 1.5 MiB is
    # not refused for its size.
    page = await asgi_request(
        "POST",
        "/accounts/login/",
        body=b"a=" + b"x" * (3 * MIB // 2),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert page.status != 413
