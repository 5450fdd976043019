"""Content-Security-Policy for every page Django serves.

Scripts and stylesheets run only from our own origin or, inline, with this response's
nonce: text an agent or a person wrote can never become script, even if escaping or
the markdown sanitiser were to miss something. Inline event handlers and `style`
attributes are refused (templates use classes and nonce'd scripts instead).

A small middleware rather than django-csp: the policy is one function (it names the
request's own host for the live feed's WebSocket), and the names follow Django 6.0's
built-in CSP support (`request.csp_nonce`, `{{ csp_nonce }}` in templates), so moving to
it once Orchestra runs on Django 6 is a settings change.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

HEADER = "Content-Security-Policy"


def policy(request: HttpRequest, nonce: str) -> str:
    host = request.get_host()
    # Forms post to us; "Continue with GitHub" posts to us and is redirected to
    # GitHub, which form-action also governs (Chromium checks redirects of a submission);
    # so do Upgrade and Manage billing, redirected to Stripe.
    github = urlsplit(settings.GITHUB_URL)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src": ["'self'", f"'nonce-{nonce}'"],
        # The markdown sanitiser lets agents' notes show images from http(s) URLs.
        "img-src": ["'self'", "data:", "https:", "http:"],
        # The live activity feed's WebSocket, on this same host (older browsers do not
        # count ws:/wss: as 'self').
        "connect-src": ["'self'", f"ws://{host}", f"wss://{host}"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", f"{github.scheme}://{github.netloc}", *stripe_form_origins()],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def stripe_form_origins() -> list[str]:
    """With billing on, the Billing page's forms are redirected to Stripe Checkout and
    the Customer Portal (and, in tests, to the stand-in at STRIPE_API_HOST)."""
    if not settings.STRIPE_SECRET_KEY:
        return []
    origins = list(settings.STRIPE_REDIRECT_ORIGINS)
    api = urlsplit(settings.STRIPE_API_HOST)
    api_origin = f"{api.scheme}://{api.netloc}"
    if api_origin not in origins:
        origins.append(api_origin)
    return origins


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Give each request a fresh nonce (`request.csp_nonce`) and each response the policy.
    (MiddlewareMixin serves sync and async stacks alike.)"""

    def process_request(self, request: HttpRequest) -> None:
        request.csp_nonce = secrets.token_urlsafe(18)  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        # Django's debug error pages carry their own inline scripts and styles.
        debug_page = settings.DEBUG and response.status_code in (404, 500)
        if HEADER not in response and not debug_page:
            response[HEADER] = policy(request, request.csp_nonce)  # type: ignore[attr-defined]
        return response


def nonce(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `{{ csp_nonce }}` for inline <script> and <style> elements."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
