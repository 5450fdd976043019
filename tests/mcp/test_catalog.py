"""Prompts, resources and completions (registered by the test fixtures only)."""

from __future__ import annotations

import pytest

from tests.mcp.helpers import initialize, post, rpc
from tools.mcp import catalog

pytestmark = pytest.mark.django_db(transaction=True)


async def test_capabilities_follow_what_is_registered(alice_token) -> None:
    session = await initialize(alice_token)
    assert session
    discover = await post(
        alice_token, None, rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}}), version=None
    )
    capabilities = discover.json()["result"]["capabilities"]
    assert capabilities["tools"] == {"listChanged": False}
    assert "prompts" in capabilities and "resources" in capabilities and "completions" in capabilities


def test_production_advertises_no_prompts_or_resources(monkeypatch) -> None:
    monkeypatch.setattr(catalog, "PROMPTS", {})
    monkeypatch.setattr(catalog, "RESOURCES", {})
    monkeypatch.setattr(catalog, "TEMPLATES", {})
    assert catalog.capabilities() == {}


async def test_prompts(alice_token) -> None:
    session = await initialize(alice_token)
    names = [p["name"] for p in (await post(alice_token, session, rpc("prompts/list", {}))).json()["result"]["prompts"]]
    assert "test_prompt_with_arguments" in names
    got = (
        await post(
            alice_token,
            session,
            rpc("prompts/get", {"name": "test_prompt_with_arguments", "arguments": {"arg1": "a", "arg2": "b"}}),
        )
    ).json()
    assert got["result"]["messages"][0]["content"]["text"] == "Prompt with arguments: arg1='a', arg2='b'"
    missing = (
        await post(alice_token, session, rpc("prompts/get", {"name": "test_prompt_with_arguments", "arguments": {}}))
    ).json()
    assert missing["error"]["code"] == -32602
    unknown = (await post(alice_token, session, rpc("prompts/get", {"name": "nope"}))).json()
    assert unknown["error"]["code"] == -32602


async def test_resources_and_templates(alice_token) -> None:
    session = await initialize(alice_token)
    listed = (await post(alice_token, session, rpc("resources/list", {}))).json()["result"]["resources"]
    assert {"test://static-text", "test://static-binary"} <= {r["uri"] for r in listed}
    text = (await post(alice_token, session, rpc("resources/read", {"uri": "test://static-text"}))).json()["result"]
    assert text["contents"][0]["text"].startswith("This is the content")
    templated = (await post(alice_token, session, rpc("resources/read", {"uri": "test://template/42/data"}))).json()[
        "result"
    ]
    assert '"id":"42"' in templated["contents"][0]["text"]
    missing = (await post(alice_token, session, rpc("resources/read", {"uri": "test://nothing"}))).json()
    assert missing["error"]["code"] == -32602 and missing["error"]["data"] == {"uri": "test://nothing"}


async def test_completion(alice_token) -> None:
    session = await initialize(alice_token)
    params = {
        "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
        "argument": {"name": "arg1", "value": "par"},
    }
    completion = (await post(alice_token, session, rpc("completion/complete", params))).json()["result"]["completion"]
    assert completion == {"values": ["paris", "park", "party"], "total": 3, "hasMore": False}
