"""Auth, Host/Origin, body size, throttling and rate limits on /mcp."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import tokens
from accounts.models import MCPToken, Membership
from accounts.services import organization_suspend, token_revoke
from tests.conftest import asgi_request
from tests.mcp.helpers import auth, initialize, post, rpc

pytestmark = pytest.mark.django_db(transaction=True)

INIT = rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}})


def assert_invalid_token(response) -> None:
    assert response.status == 401
    challenge = response.headers["www-authenticate"]
    # Every 401 points OAuth clients at the metadata (RFC 9728); a credential that was
    # given and refused is named invalid_token (a missing one carries no error code).
    assert challenge.startswith('Bearer resource_metadata="') and 'scope="read write"' in challenge
    has_credential = response.json()["error_description"] != "a bearer token is required"
    assert ('error="invalid_token"' in challenge) == has_credential


async def test_missing_and_malformed_tokens_get_401() -> None:
    assert_invalid_token(await asgi_request("POST", "/mcp", body=INIT))
    assert_invalid_token(await asgi_request("POST", "/mcp", body=INIT, headers={"authorization": "Basic abc"}))
    assert_invalid_token(await asgi_request("POST", "/mcp", body=INIT, headers=auth("orch_live_short")))
    assert_invalid_token(await asgi_request("POST", "/mcp", body=INIT, headers=auth(tokens.generate("live"))))


@pytest.fixture
def expired_token(alice_token) -> str:
    MCPToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    return alice_token


@pytest.fixture
def revoked_token(alice_token) -> str:
    MCPToken.objects.update(revoked_at=timezone.now())
    return alice_token


@pytest.fixture
def removed_member_token(bob, acme, issue_token) -> str:
    raw = issue_token(bob, acme)
    Membership.objects.filter(user=bob).delete()
    return raw


@pytest.fixture
def deactivated_user_token(bob, acme, issue_token) -> str:
    raw = issue_token(bob, acme)
    bob.is_active = False
    bob.save()
    return raw


@pytest.fixture
def suspended_org_token(acme, alice_token) -> str:
    organization_suspend(organization=acme)
    return alice_token


@pytest.fixture
def unusable_token(request) -> str:
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize(
    "unusable_token",
    ["expired_token", "revoked_token", "removed_member_token", "deactivated_user_token", "suspended_org_token"],
    indirect=True,
)
async def test_unusable_tokens_get_401(unusable_token) -> None:
    token = unusable_token
    assert_invalid_token(await asgi_request("POST", "/mcp", body=INIT, headers=auth(token)))


async def test_revocation_stops_an_open_session(alice_token) -> None:
    session = await initialize(alice_token)
    assert (await post(alice_token, session, rpc("ping"))).status == 200
    from orchestra.db import run_db

    await run_db(lambda: token_revoke(token=MCPToken.objects.get()))
    assert_invalid_token(await post(alice_token, session, rpc("ping")))


async def test_token_in_query_string_is_refused(alice_token) -> None:
    response = await asgi_request("POST", "/mcp", body=INIT, query_string=f"access_token={alice_token}")
    assert_invalid_token(response)
    # Even together with a valid header: URLs end up in logs and histories.
    response = await asgi_request(
        "POST", "/mcp", body=INIT, headers=auth(alice_token), query_string=f"token={alice_token}"
    )
    assert_invalid_token(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "evil.example.com"},
        {"host": "127.0.0.1:8000", "origin": "http://evil.example.com"},
        {"host": "attacker.test:8000", "origin": "http://attacker.test:8000"},
    ],
)
async def test_dns_rebinding_gets_403(alice_token, headers) -> None:
    response = await asgi_request("POST", "/mcp", body=INIT, headers=auth(alice_token, **headers))
    assert response.status == 403


async def test_local_origin_is_allowed(alice_token) -> None:
    response = await asgi_request("POST", "/mcp", body=INIT, headers=auth(alice_token, origin="http://localhost:6274"))
    assert response.status == 200


async def test_body_over_one_mebibyte_gets_413(alice_token) -> None:
    big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * (1024 * 1024) + b'"}}'
    response = await asgi_request("POST", "/mcp", body=big, headers=auth(alice_token))
    assert response.status == 413
    declared = await asgi_request(
        "POST", "/mcp", body=b"{}", headers=auth(alice_token, **{"content-length": str(2 * 1024 * 1024)})
    )
    assert declared.status == 413


async def test_failed_authentication_is_throttled_per_client(one_rate_window, settings, alice_token) -> None:
    settings.AUTH_FAILURE_LIMIT_PER_MINUTE = 3
    bad = auth(tokens.generate("live"))
    for _ in range(3):
        assert (await asgi_request("POST", "/mcp", body=INIT, headers=bad)).status == 401
    throttled = await asgi_request("POST", "/mcp", body=INIT, headers=bad)
    assert throttled.status == 429 and int(throttled.headers["retry-after"]) >= 1
    # Even a good token waits from that address; another address is unaffected.
    assert (await asgi_request("POST", "/mcp", body=INIT, headers=auth(alice_token))).status == 429
    other = await asgi_request("POST", "/mcp", body=INIT, headers=auth(alice_token), client=("10.9.9.9", 1))
    assert other.status == 200


async def test_per_organization_rate_limit(one_rate_window, settings, alice_token, charlie_token) -> None:
    settings.MCP_RATE_LIMIT_PER_MINUTE = 3
    session = await initialize(alice_token)  # 2 requests
    response = await post(alice_token, session, rpc("ping"))
    assert response.status == 200
    assert response.headers["x-ratelimit-limit"] == "3" and response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) > 0
    limited = await post(alice_token, session, rpc("ping"))
    assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
    # Another organization has its own budget.
    assert (await asgi_request("POST", "/mcp", body=INIT, headers=auth(charlie_token))).status == 200
