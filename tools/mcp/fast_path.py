"""The memory-only fast path of Streamable HTTP, decided in one place.

A request whose every part this process already holds (the token's identity, the
session, and what the method needs) is answered on the event loop, without a worker
thread or the database: `tools/list`, `ping`, and the tools that declare
`answerable_from_memory` (get_context while the organization's usage is cached). The
caches themselves (accounts.auth, tools.mcp.sessions) only answer "held or not";
everything else is answered the usual way, counted once, by the same rules.
"""

from __future__ import annotations

from django.conf import settings

from accounts.auth import AuthenticationFailed, NeedsDatabase, TokenIdentity, authenticate_token, bearer_from_header
from tools.mcp import versions
from tools.mcp.http import Request
from tools.mcp.registry import registry
from tools.mcp.sessions import is_cached as is_session_cached

SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"

# Methods answered from memory alone once the token and session are cached.
# (Not notifications/initialized: marking a session initialized is a write.)
MEMORY_METHODS = frozenset({"tools/list", "ping"})


def answers_from_memory(method: object, params: object, identity: TokenIdentity) -> bool:
    """Whether a message needs no database: a memory method, or a call of a tool that
    says it can run without one for this caller (get_context, mostly)."""
    if method in MEMORY_METHODS:
        return True
    if method != "tools/call" or not isinstance(params, dict):
        return False
    spec = registry().get(params.get("name"))  # type: ignore[arg-type]
    return spec is not None and spec.answerable_from_memory is not None and spec.answerable_from_memory(identity)


def identity_if_answerable(request: Request) -> TokenIdentity | None:
    """The caller's identity when the whole request can be answered from memory; None
    sends it to a worker thread. Nothing is counted here (rate limits), so a request
    answered either way is counted once; the identity found is not looked up again."""
    if not settings.MCP_MEMORY_FAST_PATH or request.method != "POST":
        return None
    if request.headers.get(VERSION_HEADER, versions.DEFAULT_HEADER_VERSION) not in versions.HANDSHAKE_VERSIONS:
        return None
    try:
        payload = request.json()
    except ValueError:  # not JSON, or too deep: answered (and counted) the usual way
        return None
    # A batch goes to the worker thread: it is counted per message, and its token is
    # checked again between messages.
    if not isinstance(payload, dict):
        return None
    try:
        identity = authenticate_token(bearer_from_header(request.headers.get("authorization")), memory_only=True)
    except (NeedsDatabase, AuthenticationFailed):  # a refusal is answered (and counted) the usual way
        return None
    if not answers_from_memory(payload.get("method"), payload.get("params"), identity):
        return None
    return identity if is_session_cached(request.headers.get(SESSION_HEADER, "")) else None
