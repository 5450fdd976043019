"""ASGI entry point: MCP transports and the live activity feed on Channels, everything else
through Django."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from orchestra.body_limits import BodyLimitMiddleware, Receive, Scope, Send  # noqa: E402
from tools.activity.live import ActivityFeedConsumer  # noqa: E402
from tools.mcp import consumers as streamable  # noqa: E402
from tools.mcp.sse import LegacyMessagesConsumer, LegacySseConsumer  # noqa: E402

routes = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                path("mcp/sse", LegacySseConsumer.as_asgi()),
                path("mcp/messages/", LegacyMessagesConsumer.as_asgi()),
                path("mcp/messages", LegacyMessagesConsumer.as_asgi()),
                re_path(r"", django_asgi_app),  # type: ignore[arg-type]  # an ASGI app, not a view
            ]
        ),
        # The dashboard's live activity feed: signed-in members, same-origin pages only.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/activity/", ActivityFeedConsumer.as_asgi())]))
        ),
    }
)


async def route(scope: Scope, receive: Receive, send: Send) -> None:
    """/mcp (Streamable HTTP, nearly every MCP request) straight to its application;
    everything else through Channels' routers."""
    if scope["type"] == "http" and scope["path"] in streamable.PATHS:
        await streamable.streamable_http(scope, receive, send)
    else:
        await routes(scope, receive, send)


# Every HTTP request's body is counted as it arrives, against its route's limit.
application = BodyLimitMiddleware(route)
