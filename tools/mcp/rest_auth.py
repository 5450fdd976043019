"""Token authentication for DRF views: the same check as the MCP transports.

Kept apart from the views: DRF imports authentication classes while it is itself
being imported, so this module must not import rest_framework.views.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request as DrfRequest

from accounts.auth import TokenIdentity
from tools.mcp import guards, http


class TokenUser:
    """request.user for token-authenticated API calls (no database round trip)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, identity: TokenIdentity) -> None:
        self.id = identity.user_id
        self.email = identity.user_email


class TokenAuthentication(BaseAuthentication):
    """The MCP token check (throttling, rate limit included) for DRF views."""

    def authenticate(self, request: DrfRequest) -> tuple[TokenUser, TokenIdentity] | None:
        django_request = request._request
        if not guards.origin_allowed(django_request.headers.get("Origin")):
            raise exceptions.PermissionDenied("Origin not allowed")
        identity, refusal, headers = http.authenticate(
            http.Request(
                method=django_request.method or "POST",
                path=django_request.path,
                headers={k.lower(): v for k, v in django_request.headers.items()},
                body=b"",
                client_ip=django_request.META.get("REMOTE_ADDR", "unknown"),
                query_string=django_request.META.get("QUERY_STRING", ""),
            )
        )
        if refusal is not None:
            if refusal.status == 429:
                raise exceptions.Throttled(wait=int(refusal.headers.get("Retry-After", "60")))
            raise exceptions.AuthenticationFailed("the access token is missing, invalid, expired or revoked")
        assert identity is not None
        django_request.rate_limit_headers = headers  # type: ignore[attr-defined]
        return TokenUser(identity), identity

    def authenticate_header(self, request: DrfRequest) -> str:
        return 'Bearer error="invalid_token"'
