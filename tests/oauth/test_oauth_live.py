"""Acceptance: the official mcp client's OAuthClientProvider against a real server,
consent given by a signed-in person through real HTTP."""

from __future__ import annotations

import hashlib

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.models import MCPToken, TokenKind
from oauth.models import AccessToken, RefreshToken
from orchestra.db import run_db
from tests.oauth.flow import MemoryStorage, Person, provider_for, verified

pytestmark = [pytest.mark.acceptance]


@pytest.fixture
def person(live, alice, acme) -> Person:
    verified(alice, "pw-alice-123456")
    return Person(base_url=live.url, email="alice@example.com", password="pw-alice-123456")


async def test_streamable_http_end_to_end_with_dynamic_registration(live, person) -> None:
    await person.sign_in()
    storage = MemoryStorage()
    provider = provider_for(live.mcp_url, person, storage)
    http = httpx2.AsyncClient(auth=provider, timeout=30)
    async with http, Client(streamable_http_client(live.mcp_url, http_client=http), mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "create_project" in names
        created = await client.call_tool("create_project", {"name": "Via OAuth"})
        assert created.is_error is False
        context = await client.call_tool("get_context", {})
        assert context.structured_content["organization"]["slug"] == "acme"
    await person.close()

    # The consent page named the client and where it sends the person back.
    assert "Test agent" in person.consent_pages[0] and "127.0.0.1:33418" in person.consent_pages[0]
    assert storage.tokens is not None and storage.tokens.access_token.startswith("orch_oat_")
    assert storage.tokens.refresh_token.startswith("orch_ort_")
    assert "iss=" in person.redirect

    # One credential row for the grant; the database keeps digests only.
    grant = await run_db(lambda: MCPToken.objects.get(kind=TokenKind.OAUTH))
    assert grant.oauth_client_id == storage.client_info.client_id
    access = await run_db(lambda: AccessToken.objects.get(mcp_token=grant))
    refresh = await run_db(lambda: RefreshToken.objects.get(mcp_token=grant))
    assert access.token == "" and refresh.token == ""
    assert access.token_checksum == hashlib.sha256(storage.tokens.access_token.encode()).hexdigest()
    assert access.resource == [live.mcp_url]


async def test_legacy_sse_with_oauth_and_revocation_from_the_dashboard_closes_the_stream(live, person) -> None:
    await person.sign_in()
    storage = MemoryStorage()
    provider = provider_for(live.mcp_url, person, storage)
    async with (
        sse_client(f"{live.url}/mcp/sse", auth=provider) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert "get_context" in names
        assert (await session.call_tool("get_context", {})).isError is False
        grant = await run_db(lambda: MCPToken.objects.get(kind=TokenKind.OAUTH))
        # The person revokes the grant on the Tokens page (a real form post).
        assert person.http is not None
        page = await person.http.get(f"/tokens/{grant.pk}/revoke")
        from tests.oauth.flow import hidden_fields

        answer = await person.http.post(
            f"/tokens/{grant.pk}/revoke",
            data=hidden_fields(page.text),
            headers={"Referer": f"{live.url}/tokens/{grant.pk}/revoke"},
        )
        assert answer.status_code in (200, 302), answer.text[:1000]
        await asyncio.sleep(1.5)
        with pytest.raises(Exception):  # noqa: B017  the stream is gone: any further call fails
            await asyncio.wait_for(session.call_tool("get_context", {}), timeout=5)
    await person.close()
    grant = await run_db(lambda: MCPToken.objects.get(kind=TokenKind.OAUTH))
    assert grant.revoked_at is not None
