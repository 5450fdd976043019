"""The ASGI server Orchestra runs on: uvicorn, with httptools and uvloop.

Every way of serving Orchestra goes through here (`manage.py serve`, the Docker image,
the tests' live servers, the benchmark), so the server that is tested is the one that
ships. Why uvicorn and not Daphne: docs/decisions/0008.
"""

from __future__ import annotations

import gc
import logging
import socket

import uvicorn
from django.conf import settings

from orchestra.http_protocol import DeadlineHttpToolsProtocol

logger = logging.getLogger(__name__)

# Requests still running at shutdown get this long to finish; streams are closed
# at once (they never finish on their own).
GRACEFUL_SHUTDOWN_SECONDS = 10
WS_MAX_MESSAGE_BYTES = 64 * 1024


def follow_port(port: int) -> None:
    """Without an explicit APP_URL, the public URL names the port this process serves
    on (`manage.py serve --port 8101`), as PORT would have: settings derived it from
    PORT before the command line was read."""
    if settings.APP_URL_EXPLICIT or port == settings.PORT:
        return
    settings.APP_URL = f"http://127.0.0.1:{port}"
    settings.APP_ORIGIN = settings.APP_URL
    settings.CSRF_TRUSTED_ORIGINS = [settings.APP_ORIGIN]


def config(host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        "orchestra.asgi:application",
        host=host,
        port=port,
        # Named, not "auto": a missing accelerator must fail at start, not quietly
        # halve the throughput (they are pinned in requirements.txt).
        loop="uvloop",
        # httptools, with deadlines for slow clients' headers and bodies.
        http=DeadlineHttpToolsProtocol,
        ws="websockets-sansio",
        # The one WebSocket (the dashboard's activity feed) only talks one way and
        # ignores what browsers send: no 16 MiB messages (uvicorn's default) to buffer.
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        # Channels' router has no lifespan protocol, and nothing needs one.
        lifespan="off",
        # Logging is Django's (JSON, request ids, secrets redacted); Django views and
        # the MCP consumers log each request themselves, without query strings.
        log_config=None,
        access_log=False,
        server_header=False,
        # X-Forwarded-For / -Proto are believed only from the proxies an operator
        # named; with none named, not at all. (A list, even empty: given None, uvicorn
        # would read its own default, which trusts 127.0.0.1.)
        proxy_headers=bool(settings.FORWARDED_ALLOW_IPS),
        forwarded_allow_ips=list(settings.FORWARDED_ALLOW_IPS),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


class Server(uvicorn.Server):
    """uvicorn waits at shutdown for every response to end; an SSE stream never
    does. Close ours first (clients reconnect to another process), then shut down."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # Everything loaded so far (Django, the apps, the tool registry: about 150,000
        # objects) lives as long as the process. Frozen, the collector stops walking it
        # in every full collection; each of those stalls every request and stream of
        # the process (measured on 2 cores with 1,000 streams open: 160-230 ms each,
        # 70-120 ms once frozen). It shortens the pauses; it saves no CPU per request.
        gc.collect()
        gc.freeze()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        from tools.mcp.control import close_local_streams

        closed = await close_local_streams()
        if closed:
            logger.info("closed %d open stream(s) for shutdown", closed)
        await super().shutdown(sockets)
