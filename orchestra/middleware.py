"""HTTP middleware for Django views (the MCP consumers do the same things themselves)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from orchestra import outages
from orchestra.logging import logged_path, new_request_id, request_id_var

logger = logging.getLogger("orchestra.access")


def log_request(request: HttpRequest, response: HttpResponse, started: float) -> None:
    """One line per request, by URL pattern (see orchestra.logging.logged_path)."""
    elapsed_ms = (time.monotonic() - started) * 1000
    logger.info("%s %s %s %.1fms", request.method, logged_path(request), response.status_code, elapsed_ms)


class RequestIdMiddleware:
    """Give every request an id (X-Request-ID in, X-Request-ID out) for the logs, and
    log it once it is answered."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        started = time.monotonic()
        token = request_id_var.set(new_request_id(request.headers.get("X-Request-ID")))
        try:
            response: HttpResponse = self.get_response(request)
            response["X-Request-ID"] = request_id_var.get()
            log_request(request, response, started)
            return response
        finally:
            request_id_var.reset(token)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        token = request_id_var.set(new_request_id(request.headers.get("X-Request-ID")))
        try:
            response: HttpResponse = await self.get_response(request)
            response["X-Request-ID"] = request_id_var.get()
            log_request(request, response, started)
            return response
        finally:
            request_id_var.reset(token)


class ServiceUnavailableMiddleware:
    """A view that needed Redis or the database while it was away answers 503 with
    Retry-After (JSON for the API, a page for people), instead of a 500 and a
    traceback per request; the outage itself is logged once per interval
    (orchestra.outages). Any other exception is left to Django (a 500)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if outages.report(exception) is None:
            return None
        return unavailable_response(request)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    retry_after = outages.retry_after()
    response: HttpResponse
    if request.path.startswith("/api/") or "text/html" not in request.headers.get("Accept", ""):
        details = {"retry_after": int(retry_after)}
        body = {"error": {"code": "unavailable", "message": outages.MESSAGE, "details": details}}
        response = JsonResponse(body, status=503)
    else:
        # Rendered without the request: its context processors (the signed-in user, the
        # organization) would query the database that is away.
        response = HttpResponse(render_to_string("503.html", {"retry_after": retry_after}), status=503)
    response["Retry-After"] = retry_after
    # Django logs every 5xx at ERROR (a line per request); the outage has its own line,
    # once per interval, and the request its access-log line.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
