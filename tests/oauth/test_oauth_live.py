"""Acceptance: the official mcp client's OAuthClientProvider against a real server,
consent given by a signed-in person through real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import time

import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from accounts.models import MCPToken, TokenKind
from oauth.models import AccessToken, RefreshToken
from orchestra.db import run_db
from tests.oauth.flow import MemoryStorage, Person, hidden_fields, provider_for, verified
from tools.mcp.models import McpSession

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
        first_access = storage.tokens.access_token
        sessions_before = await run_db(lambda: list(McpSession.objects.values_list("id", flat=True)))

        # The access token runs out: the client refreshes it and goes on in the same session.
        provider.context.token_expiry_time = time.time() - 1
        listed = await client.call_tool("list_projects", {})
        assert listed.is_error is False
        assert [p["slug"] for p in listed.structured_content["items"]] == ["via-oauth"]
        assert storage.tokens.access_token != first_access
        sessions_after = await run_db(lambda: list(McpSession.objects.values_list("id", flat=True)))
        assert sessions_after == sessions_before and len(sessions_after) == 1
    await person.close()

    # The consent page named the client and where it sends the person back.
    assert "Test agent" in person.consent_pages[0] and "127.0.0.1:33418" in person.consent_pages[0]
    assert storage.tokens is not None and storage.tokens.access_token.startswith("orch_oat_")
    assert storage.tokens.refresh_token.startswith("orch_ort_")
    assert "iss=" in person.redirect

    # One credential row for the grant; the database keeps digests only.
    grant = await run_db(lambda: MCPToken.objects.get(kind=TokenKind.OAUTH))
    assert grant.oauth_client_id == storage.client_info.client_id
    access = await run_db(lambda: AccessToken.objects.get(mcp_token=grant))  # the first was deleted at refresh
    refresh = await run_db(lambda: RefreshToken.objects.get(mcp_token=grant, revoked__isnull=True))
    assert await run_db(lambda: RefreshToken.objects.filter(mcp_token=grant, revoked__isnull=False).count()) == 1
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
        assert (await session.call_tool("get_context", {})).is_error is False
        grant = await run_db(lambda: MCPToken.objects.get(kind=TokenKind.OAUTH))
        # The person revokes the grant on the Tokens page (a real form post).
        assert person.http is not None
        page = await person.http.get(f"/tokens/{grant.pk}/revoke")
        answer = await person.http.post(
            f"/tokens/{grant.pk}/revoke",
            data=hidden_fields(page.text),
            headers={"Referer": f"{live.url}/tokens/{grant.pk}/revoke"},
        )
        assert answer.status_code == 302, answer.text[:1000]
        revoked_at = time.monotonic()
        # The server ends the stream within a second (and marks its session closed).
        closed = None
        while closed is None and time.monotonic() - revoked_at < 3:
            closed = await run_db(
                lambda: McpSession.objects.filter(transport="sse").values_list("closed_at", flat=True).get()
            )
            await asyncio.sleep(0.05)
        assert closed is not None and time.monotonic() - revoked_at < 1.5
    await person.close()
    assert len(person.consent_pages) == 1  # the client was not silently given a new grant
    grant = await run_db(lambda: MCPToken.objects.get(kind=TokenKind.OAUTH))
    assert grant.revoked_at is not None


@pytest.fixture(scope="module")
def cimd_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """A live server whose CIMD fetcher reaches the local stand-in (tests.oauth.cimd_settings)."""
    from tests.conftest import start_server, stop_server
    from tests.oauth.cimd_standin import StandIn, metadata
    from tests.oauth.flow import REDIRECT_URI

    standin = StandIn(metadata(REDIRECT_URI))
    with django_db_blocker.unblock():
        server = start_server(
            tmp_path_factory.mktemp("cimd"),
            {"DJANGO_SETTINGS_MODULE": "tests.oauth.cimd_settings", "CIMD_STANDIN_URL": standin.url},
        )
    yield server, standin
    stop_server(server)
    standin.close()


async def test_client_id_metadata_document_registration(cimd_server, transactional_db, alice, acme) -> None:
    from tests.oauth.cimd_standin import CLIENT_ID

    server, standin = cimd_server
    await run_db(lambda: verified(alice, "pw-alice-123456"))
    person = Person(base_url=server.url, email="alice@example.com", password="pw-alice-123456")
    await person.sign_in()
    storage = MemoryStorage()
    provider = provider_for(server.mcp_url, person, storage, client_metadata_url=CLIENT_ID)
    http = httpx2.AsyncClient(auth=provider, timeout=30)
    async with http, Client(streamable_http_client(server.mcp_url, http_client=http), mode="legacy") as client:
        assert (await client.call_tool("get_context", {})).is_error is False
    await person.close()
    assert standin.requests, "the server never fetched the metadata document"
    assert "CIMD agent" in person.consent_pages[0]
    grant = await run_db(lambda: MCPToken.objects.get(kind=TokenKind.OAUTH))
    assert grant.oauth_client_id == CLIENT_ID
