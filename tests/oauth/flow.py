"""Helpers of the OAuth tests: a person who signs in and consents through real HTTP,
and the official mcp client's OAuthClientProvider wired to them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT_URI = "http://127.0.0.1:33418/callback"


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' not in tag:
            continue
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


@dataclass
class Person:
    """Someone with a browser session on the live server."""

    base_url: str
    email: str
    password: str
    choices: dict[str, str] = field(default_factory=lambda: {"mode": "live", "access": "write", "project": ""})
    http: httpx2.AsyncClient | None = None
    consent_pages: list[str] = field(default_factory=list)
    redirect: str = ""

    async def sign_in(self) -> None:
        self.http = httpx2.AsyncClient(base_url=self.base_url, follow_redirects=False, timeout=30)
        page = await self.http.get("/accounts/login/")
        csrf = hidden_fields(page.text)["csrfmiddlewaretoken"]
        answer = await self.http.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": csrf, "login": self.email, "password": self.password},
            headers={"Referer": f"{self.base_url}/accounts/login/"},
        )
        assert answer.status_code == 302, answer.text[:2000]

    async def consent(self, authorization_url: str, **choices: str) -> httpx2.Response:
        """Open the authorization URL and press Allow; the answer is the redirect to the client."""
        assert self.http is not None
        page = await self.http.get(authorization_url)
        assert page.status_code == 200, (page.status_code, page.headers.get("location"), page.text[:3000])
        self.consent_pages.append(page.text)
        data = {**hidden_fields(page.text), **self.choices, **choices, "allow": "on"}
        answer = await self.http.post(
            urlsplit(authorization_url).path, data=data, headers={"Referer": authorization_url}
        )
        return answer

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()


class MemoryStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def provider_for(
    server_url: str, person: Person, storage: MemoryStorage, *, client_metadata_url: str | None = None
) -> OAuthClientProvider:
    """The official client's OAuth support, whose browser is `person`."""

    async def redirect_handler(url: str) -> None:
        answer = await person.consent(url)
        assert answer.status_code == 302, (answer.status_code, answer.text[:3000])
        person.redirect = answer.headers["location"]

    async def callback_handler() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(person.redirect).query)
        assert "code" in query, person.redirect
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0], iss=query.get("iss", [None])[0])

    metadata = OAuthClientMetadata(
        client_name="Test agent",
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )


def verified(user: Any, password: str) -> Any:
    """`user` able to sign in on the live server: a verified address, and a password
    hashed with a hasher the server knows (the tests' own settings use MD5)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return user
