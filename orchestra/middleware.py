"""HTTP middleware for Django views (the MCP consumers set the same things themselves)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

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
