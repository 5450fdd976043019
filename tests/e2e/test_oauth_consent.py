"""End to end in a browser: an MCP client's authorization request, the person signs
in, consents on the page (read-only, sandbox), and the client's code becomes a token
the official MCP client lists tools with."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from oauth2_provider.models import get_application_model

from accounts.models import MCPToken, TokenKind
from tests.e2e.conftest import screenshot
from tests.oauth.flow import verified

CALLBACK = "http://127.0.0.1/callback"  # loopback: the browser is sent to any port of it


def list_tools(url: str, token: str) -> set[str]:
    async def run() -> set[str]:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with http, Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def test_consent_in_the_browser(page, live, alice, acme) -> None:
    verified(alice, "pw-alice-123456")
    app = get_application_model().objects.create(
        name="Browser agent",
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris=CALLBACK,
        client_secret="",
        registration_source="dcr",
    )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = "http://127.0.0.1:47123/callback"
    url = f"{live.url}/oauth/authorize/?" + urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "browser-state",
            "scope": "read write",
            "resource": live.mcp_url,
        }
    )
    # Nothing listens on the client's loopback port: answer it in the browser.
    page.route("http://127.0.0.1:47123/**", lambda route: route.fulfill(status=200, body="You may close this tab."))

    page.goto(url)  # not signed in: the login page first, then back here
    page.fill("#id_login", "alice@example.com")
    page.fill("#id_password", "pw-alice-123456")
    page.click("form button[type=submit]")
    page.wait_for_selector("#consent-form")
    assert "Browser agent" in page.content() and "127.0.0.1:47123" in page.content()
    page.check("input[name=mode][value=test]")
    page.check("input[name=access][value=read]")
    screenshot(page, "oauth-consent")
    with page.expect_request("http://127.0.0.1:47123/**") as callback:
        page.click("button[name=allow][value=on]")
    query = parse_qs(urlsplit(callback.value.url).query)
    assert query["state"] == ["browser-state"] and query["iss"] == [live.url]

    tokens = httpx2.post(
        f"{live.url}/oauth/token/",
        data={
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "code": query["code"][0],
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            "resource": live.mcp_url,
        },
        timeout=20,
    ).json()
    names = list_tools(live.mcp_url, tokens["access_token"])
    assert "get_context" in names
    grant = MCPToken.objects.get(kind=TokenKind.OAUTH)
    assert grant.mode == "test" and grant.scopes == ["read"]
