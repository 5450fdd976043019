"""The address a request came from, held for the request so that services deep below
a view can write it into an audit row without every signature carrying it.

The address is the one the app already believes: REMOTE_ADDR, which the web server
(uvicorn, orchestra.web_server) sets from X-Forwarded-For only for the proxies
FORWARDED_ALLOW_IPS names. A forged X-Forwarded-For from anyone else is never read.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

_client_ip: ContextVar[str | None] = ContextVar("orchestra_audit_client_ip", default=None)


def client_ip() -> str | None:
    """The current request's address, or None outside a request (tasks, commands)."""
    return _client_ip.get()


def address_of(request: HttpRequest) -> str | None:
    """REMOTE_ADDR if it is an IP address (a test client's or a socket's may not be)."""
    raw = str(request.META.get("REMOTE_ADDR") or "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


@contextlib.contextmanager
def request_address(address: str | None) -> Iterator[None]:
    token = _client_ip.set(address)
    try:
        yield
    finally:
        _client_ip.reset(token)


class ClientAddressMiddleware:
    """Hold the request's address for audit rows written while it is answered."""

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
        with request_address(address_of(request)):
            response: HttpResponse = self.get_response(request)
            return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        with request_address(address_of(request)):
            response: HttpResponse = await self.get_response(request)
            return response
