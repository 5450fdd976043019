"""The OAuth rules through Django's test client: discovery, registration, the consent,
the token endpoint's refusals, and an access token obeying the orch_ token's rules."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_application_model

from accounts.auth import AuthenticationFailed, authenticate_token
from accounts.models import MCPToken, Membership, TokenKind
from accounts.services import token_create, token_revoke
from billing.services import plan_grant
from oauth.models import AccessToken, Grant, RefreshToken
from oauth.services import spent_codes_delete, unused_clients_delete
from tests.oauth.flow import hidden_fields

REDIRECT = "http://127.0.0.1/callback"


@pytest.fixture
def app(db):
    return get_application_model().objects.create(
        name="Rules agent",
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT,
        client_secret="",
        registration_source="dcr",
    )


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(app, challenge: str, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT.replace("127.0.0.1", "127.0.0.1:51234"),  # loopback: any port
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st4te",
        "scope": "read write",
        "resource": settings.OAUTH_RESOURCE,
    }
    params.update(overrides)
    return "/oauth/authorize/?" + urlencode({k: v for k, v in params.items() if v is not None})


def consent(client: Client, app, *, choices: dict | None = None, **overrides):
    """(code verifier, the redirect's query) after pressing Allow."""
    verifier, challenge = pkce()
    page = client.get(authorize_url(app, challenge, **overrides))
    assert page.status_code == 200, page.content[:500]
    data = {**hidden_fields(page.content.decode()), "mode": "live", "access": "write", "project": "", "allow": "on"}
    data.update(choices or {})
    answer = client.post("/oauth/authorize/", data)
    return verifier, answer


def token_request(client: Client, app, **data):
    return client.post("/oauth/token/", {"client_id": app.client_id, **data})


def exchange(client: Client, app, verifier: str, code: str, **extra):
    return token_request(
        client,
        app,
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri=REDIRECT.replace("127.0.0.1", "127.0.0.1:51234"),
        resource=settings.OAUTH_RESOURCE,
        **extra,
    )


@pytest.fixture
def signed_in(alice, acme) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def full_grant(client, app) -> dict:
    verifier, answer = consent(client, app)
    assert answer.status_code == 302, answer.content[:500]
    query = parse_qs(urlsplit(answer["Location"]).query)
    tokens = exchange(client, app, verifier, query["code"][0])
    assert tokens.status_code == 200, tokens.content
    return tokens.json()


# --- discovery ---------------------------------------------------------------------------


def test_unauthenticated_mcp_answers_the_challenge(client, db) -> None:
    response = client.get("/.well-known/oauth-protected-resource/mcp")
    assert response.status_code == 200
    assert response.json()["resource"] == settings.OAUTH_RESOURCE
    assert response.json()["authorization_servers"] == [settings.APP_URL]
    assert client.get("/.well-known/oauth-protected-resource").json()["resource"] == settings.OAUTH_RESOURCE
    meta = client.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == settings.APP_URL
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "none" in meta["token_endpoint_auth_methods_supported"]
    assert meta["client_id_metadata_document_supported"] is True
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["registration_endpoint"].endswith("/oauth/register/")


async def test_mcp_without_a_token_points_at_the_metadata(db) -> None:
    from tests.conftest import asgi_request

    for path in ("/mcp", "/mcp/sse"):
        response = await asgi_request("GET" if path.endswith("sse") else "POST", path, body=b"{}")
        assert response.status == 401
        challenge = response.headers["www-authenticate"]
        assert f'resource_metadata="{settings.APP_URL}/.well-known/oauth-protected-resource/mcp"' in challenge
        assert 'scope="read write"' in challenge


# --- registration ------------------------------------------------------------------------


def test_open_registration_is_json_and_rate_limited(client, db, settings) -> None:
    settings.OAUTH_REGISTRATIONS_PER_MINUTE = 2
    body = {
        "client_name": "X",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    }
    first = client.post("/oauth/register/", json.dumps(body), content_type="application/json")
    assert first.status_code == 201, first.content
    assert first.json()["client_id"]
    # A client that found no metadata posts to /register: JSON, never the sign-up page.
    fallback = client.post("/register", json.dumps(body), content_type="application/json")
    assert fallback.status_code == 201 and fallback["Content-Type"] == "application/json"
    limited = client.post("/oauth/register/", json.dumps(body), content_type="application/json")
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert client.get("/register").status_code == 302  # people still sign up there


def test_unused_registrations_are_tidied(app, signed_in) -> None:
    full_grant(signed_in, app)
    unused = get_application_model().objects.create(
        name="Never used",
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT,
        registration_source="dcr",
    )
    get_application_model().objects.filter(pk__in=[app.pk, unused.pk]).update(
        created=timezone.now() - timedelta(days=30)
    )
    assert unused_clients_delete() == 1
    assert get_application_model().objects.filter(pk=app.pk).exists()
    Grant.objects.update(expires=timezone.now() - timedelta(days=2))
    assert spent_codes_delete() == 1 and not Grant.objects.exists()


# --- the grant ---------------------------------------------------------------------------


def test_consent_makes_one_token_row_and_only_digests(app, signed_in, alice) -> None:
    tokens = full_grant(signed_in, app)
    grant = MCPToken.objects.get(kind=TokenKind.OAUTH)
    assert grant.oauth_client_id == app.client_id and grant.user == alice
    assert tokens["access_token"].startswith("orch_oat_") and tokens["refresh_token"].startswith("orch_ort_")
    assert tokens["expires_in"] == settings.OAUTH_ACCESS_TOKEN_SECONDS
    raw_values = {tokens["access_token"], tokens["refresh_token"]}
    for model in (AccessToken, RefreshToken):
        for row in model.objects.all():
            assert row.token == "" and row.token not in raw_values
    identity = authenticate_token(tokens["access_token"])
    assert identity.token_id == grant.pk and identity.can_write
    # The refresh token is no bearer token.
    with pytest.raises(AuthenticationFailed):
        authenticate_token(tokens["refresh_token"])


def test_authorization_codes_are_stored_as_digests(app, signed_in) -> None:
    _, answer = consent(signed_in, app)
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    stored = Grant.objects.get()
    assert stored.code == hashlib.sha256(code.encode()).hexdigest()
    assert parse_qs(urlsplit(answer["Location"]).query)["iss"] == [settings.APP_URL]


def test_read_only_sandbox_choice_is_kept(app, signed_in) -> None:
    _, answer = consent(signed_in, app, choices={"mode": "test", "access": "read"})
    assert answer.status_code == 302
    grant = MCPToken.objects.get(kind=TokenKind.OAUTH)
    assert grant.mode == "test" and grant.scopes == ["read"]


def test_plan_limit_is_shown_on_the_consent_page(app, signed_in, alice, acme) -> None:
    """A grant counts like a token: on the free plan (2 tokens), a third is refused on
    the consent page in words, and nothing is created."""
    plan_grant(organization=acme, plan="free")
    for name in ("one", "two"):
        token_create(organization=acme, user=alice, name=name)
    _, answer = consent(signed_in, app)
    assert answer.status_code == 400
    assert "the Free plan allows 2 tokens" in answer.content.decode()
    assert not Grant.objects.exists() and not MCPToken.objects.filter(kind=TokenKind.OAUTH).exists()
    # A token given back makes room for the grant.
    token_revoke(token=MCPToken.objects.get(name="one"))
    _, answer = consent(signed_in, app)
    assert answer.status_code == 302
    assert MCPToken.objects.filter(kind=TokenKind.OAUTH).count() == 1


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize("resource", [None, "https://elsewhere.example/mcp"])
def test_a_wrong_or_missing_resource_is_refused(app, signed_in, resource) -> None:
    _, challenge = pkce()
    answer = signed_in.get(authorize_url(app, challenge, resource=resource))
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer["Location"]).query)["error"] == ["invalid_target"]
    assert not MCPToken.objects.filter(kind=TokenKind.OAUTH).exists()


def test_a_token_request_for_another_resource_is_refused(app, signed_in) -> None:
    verifier, answer = consent(signed_in, app)
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    refused = token_request(
        signed_in,
        app,
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri=REDIRECT.replace("127.0.0.1", "127.0.0.1:51234"),
        resource="https://elsewhere.example/mcp",
    )
    assert refused.status_code == 400, refused.content
    # JSON with its type (the toolkit's own answer says text/html).
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["error"] == "invalid_target", refused.content


def test_an_access_token_without_our_resource_is_refused(app, signed_in) -> None:
    tokens = full_grant(signed_in, app)
    AccessToken.objects.update(resource=[])
    from accounts.auth import forget

    forget()
    with pytest.raises(AuthenticationFailed):
        authenticate_token(tokens["access_token"])


def test_plain_pkce_is_refused(app, signed_in) -> None:
    answer = signed_in.get(authorize_url(app, "x" * 43, code_challenge_method="plain"))
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer["Location"]).query)["error"] == ["invalid_request"]


def test_an_unregistered_redirect_uri_is_refused_without_redirecting(app, signed_in) -> None:
    _, challenge = pkce()
    answer = signed_in.get(authorize_url(app, challenge, redirect_uri="https://attacker.example/cb"))
    assert answer.status_code == 400
    assert "attacker.example" not in answer.get("Location", "")


def test_a_reused_code_is_refused(app, signed_in) -> None:
    verifier, answer = consent(signed_in, app)
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    tokens = exchange(signed_in, app, verifier, code).json()
    assert authenticate_token(tokens["access_token"])
    again = exchange(signed_in, app, verifier, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # Someone else may hold the code: the grant it made is revoked, with its tokens.
    assert MCPToken.objects.get(kind=TokenKind.OAUTH).revoked_at is not None
    with pytest.raises(AuthenticationFailed):
        authenticate_token(tokens["access_token"])


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_grant(app, signed_in) -> None:
    first = full_grant(signed_in, app)
    refreshed = token_request(signed_in, app, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    grant = MCPToken.objects.get(kind=TokenKind.OAUTH)
    # Same credential row: the MCP session opened with the first token continues.
    assert authenticate_token(second["access_token"]).token_id == grant.pk
    replay = token_request(signed_in, app, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert not AccessToken.objects.filter(mcp_token=grant).exists()
    with pytest.raises(AuthenticationFailed):
        authenticate_token(second["access_token"])
    after = token_request(signed_in, app, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert after.status_code == 400


def test_an_expired_access_token_is_refused(app, signed_in) -> None:
    tokens = full_grant(signed_in, app)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed, match="expired"):
        authenticate_token(tokens["access_token"])


def test_a_removed_members_tokens_stop(app, alice, bob, acme) -> None:
    client = Client()
    client.force_login(bob)
    tokens = full_grant(client, app)
    assert authenticate_token(tokens["access_token"]).user_id == bob.pk
    Membership.objects.filter(user=bob, organization=acme).delete()
    with pytest.raises(AuthenticationFailed):
        authenticate_token(tokens["access_token"])
    refused = token_request(client, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.status_code == 400


def test_revoking_the_grant_ends_all_its_tokens(app, signed_in) -> None:
    tokens = full_grant(signed_in, app)
    grant = MCPToken.objects.get(kind=TokenKind.OAUTH)
    token_revoke(token=grant)
    with pytest.raises(AuthenticationFailed):
        authenticate_token(tokens["access_token"])
    assert not AccessToken.objects.filter(mcp_token=grant).exists()
    assert not RefreshToken.objects.filter(mcp_token=grant, revoked__isnull=True).exists()
    refused = token_request(signed_in, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.status_code == 400


def test_malformed_tokens_are_refused_before_any_lookup(django_assert_num_queries, db) -> None:
    with django_assert_num_queries(0), pytest.raises(AuthenticationFailed, match="malformed"):
        authenticate_token("orch_oat_" + "a" * 38)


def test_the_tokens_page_lists_the_grant(app, signed_in) -> None:
    full_grant(signed_in, app)
    page = signed_in.get("/tokens/", follow=True).content.decode()
    assert "Rules agent" in page and "OAuth" in page


# --- the consent's choices --------------------------------------------------------------


def test_a_viewer_only_gets_read_only(app, bob, acme) -> None:
    from accounts.models import Role
    from accounts.services import membership_set

    membership_set(organization=acme, user=bob, role=Role.VIEWER)
    client = Client()
    client.force_login(bob)
    page = client.get(authorize_url(app, pkce()[1])).content.decode()
    assert 'value="write"' not in page  # the page offers read-only only
    _, refused = consent(client, app, choices={"access": "write"})
    assert refused.status_code == 400 and not MCPToken.objects.filter(kind=TokenKind.OAUTH).exists()
    verifier, answer = consent(client, app, choices={"access": "read"})
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    tokens = exchange(client, app, verifier, code).json()
    identity = authenticate_token(tokens["access_token"])
    assert identity.scopes == ("read",) and not identity.can_write
    assert tokens["scope"] == "read"


def test_organization_and_project_choice(app, alice, acme, charlie, globex, alice_id) -> None:
    from accounts.models import Role
    from accounts.services import membership_set
    from orchestra.tenancy import tenant_scope
    from tools.projects.services import project_create

    membership_set(organization=globex, user=alice, role=Role.MEMBER)
    with tenant_scope(globex):
        apollo = project_create(actor=alice_id.actor, name="Apollo")
    client = Client()
    client.force_login(alice)
    verifier, answer = consent(client, app, choices={"organization": str(globex.pk), "project": str(apollo.pk)})
    page = client.get(authorize_url(app, pkce()[1])).content.decode()
    assert "Acme" in page and "Globex" in page  # several organizations: a choice
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    identity = authenticate_token(exchange(client, app, verifier, code).json()["access_token"])
    assert identity.live_organization == globex and identity.project_id == apollo.pk


def test_a_project_of_another_organization_is_refused_on_the_page(app, alice, acme, charlie_id, globex) -> None:
    from orchestra.tenancy import tenant_scope
    from tools.projects.services import project_create

    with tenant_scope(globex):
        hidden = project_create(actor=charlie_id.actor, name="Secret")
    client = Client()
    client.force_login(alice)
    _, answer = consent(client, app, choices={"project": str(hidden.pk)})
    assert answer.status_code == 400
    assert not MCPToken.objects.filter(kind=TokenKind.OAUTH).exists()


def test_someone_without_an_organization_onboards_then_returns_to_consent(app, db) -> None:
    from accounts.models import User

    newcomer = User.objects.create_user("new@example.com", "pw-new-123456")
    client = Client()
    client.force_login(newcomer)
    url = authorize_url(app, pkce()[1])
    answer = client.get(url)
    assert answer.status_code == 302 and answer["Location"] == "/onboarding/"
    page = client.get("/onboarding/organization")
    created = client.post(
        "/onboarding/organization",
        {"csrfmiddlewaretoken": hidden_fields(page.content.decode()).get("csrfmiddlewaretoken", ""), "name": "Newco"},
    )
    assert created.status_code == 302 and created["Location"] == url
    assert client.get(url).status_code == 200


def test_oauth_tokens_are_redacted_in_logs() -> None:
    from accounts import tokens
    from orchestra.logging import redact

    access, refresh = tokens.generate("oauth_access"), tokens.generate("oauth_refresh")
    text = redact(f"saw {access} and {refresh}")
    assert access not in text and refresh not in text and "orch_[redacted]" in text


def test_an_access_token_is_found_in_one_query(app, signed_in, django_assert_max_num_queries) -> None:
    from accounts.auth import forget

    tokens = full_grant(signed_in, app)
    forget()
    # The access token's row with its grant, the membership, and last use written once.
    with django_assert_max_num_queries(3):
        authenticate_token(tokens["access_token"])


def test_deny_goes_back_to_the_client_and_makes_nothing(app, signed_in) -> None:
    _, challenge = pkce()
    page = signed_in.get(authorize_url(app, challenge))
    data = {**hidden_fields(page.content.decode()), "mode": "live", "access": "write", "project": "", "allow": ""}
    answer = signed_in.post("/oauth/authorize/", data)
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer["Location"]).query)["error"] == ["access_denied"]
    assert not MCPToken.objects.filter(kind=TokenKind.OAUTH).exists() and not Grant.objects.exists()


def test_plain_http_redirects_only_to_loopback(signed_in, db) -> None:
    careless = get_application_model().objects.create(
        name="Careless",
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris="http://agent.example/callback",
        client_secret="",
        registration_source="dcr",
    )
    _, challenge = pkce()
    answer = signed_in.get(authorize_url(careless, challenge, redirect_uri="http://agent.example/callback"))
    assert answer.status_code == 400 and "agent.example" not in answer.get("Location", "")


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_a_client_revoking_its_token_ends_the_grant(app, signed_in, which) -> None:
    tokens = full_grant(signed_in, app)
    answer = signed_in.post("/oauth/revoke/", {"client_id": app.client_id, "token": tokens[which]})
    assert answer.status_code == 200
    assert MCPToken.objects.get(kind=TokenKind.OAUTH).revoked_at is not None
    with pytest.raises(AuthenticationFailed):
        authenticate_token(tokens["access_token"])


def test_localhost_redirects_match_on_any_port(signed_in, db) -> None:
    local = get_application_model().objects.create(
        name="Local",
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris="http://localhost/callback",
        client_secret="",
        registration_source="cimd",
    )
    _, answer = consent(signed_in, local, redirect_uri="http://localhost:61000/callback")
    assert answer.status_code == 302 and answer["Location"].startswith("http://localhost:61000/callback?code=")
