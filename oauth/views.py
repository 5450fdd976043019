"""The toolkit's client registration endpoint, with the rate limit open registration
needs, and the address clients fall back to without metadata (POST /register)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views import DynamicClientRegistrationView, RevokeTokenView, TokenView


def _registration_allowed(client_ip: str) -> bool:
    """At most OAUTH_REGISTRATIONS_PER_MINUTE registrations per address and minute
    (a fixed window in the shared cache, like the MCP throttles)."""
    window = int(time.time() // 60)
    key = f"oauth:dcr:{client_ip}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # the entry vanished between add and incr: count this one alone
        count = 1
    return count <= settings.OAUTH_REGISTRATIONS_PER_MINUTE


@method_decorator(csrf_exempt, name="dispatch")
class RegistrationView(DynamicClientRegistrationView):
    """RFC 7591, open to anyone (MCP clients register themselves), rate-limited per IP."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _registration_allowed(request.META.get("REMOTE_ADDR", "unknown")):
            response = JsonResponse(
                {"error": "rate_limited", "error_description": "too many registrations; try again in a minute"},
                status=429,
            )
            response["Retry-After"] = "60"
            return response
        return super().post(request, *args, **kwargs)


def _json_typed(response: HttpResponse) -> HttpResponse:
    """The toolkit answers the token and revocation endpoints' errors with oauthlib's
    JSON body but Django's default text/html type: clients expecting JSON get JSON."""
    if response.content[:1] == b"{":
        response["Content-Type"] = "application/json"
    return response


class JsonTokenView(TokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _json_typed(super().post(request, *args, **kwargs))


class JsonRevokeTokenView(RevokeTokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _json_typed(super().post(request, *args, **kwargs))
