"""The one error family tools, services and selectors raise.

A ToolError becomes a tool result with `isError: true` over MCP and a 4xx over REST,
with `{"error": {"code", "message", "details"}}`. Anything else that escapes a tool
is an internal error: logged with its traceback, answered without it.
"""

from __future__ import annotations

import json
from typing import Any


class ToolError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        # One line, always: a model reads the first text block as the whole story, and
        # arguments echoed into a message may hold any character.
        message = " ".join(message.splitlines())
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidArguments(ToolError):
    code = "invalid_arguments"


class NotFound(ToolError):
    code = "not_found"
    http_status = 404


class PermissionDenied(ToolError):
    code = "permission_denied"
    http_status = 403


class Conflict(ToolError):
    code = "conflict"
    http_status = 409


class IdempotencyConflict(Conflict):
    """An idempotency key already used, within its 24 hours, with other arguments."""

    code = "idempotency_conflict"


class RequirementsUnmet(Conflict):
    """A state change whose preconditions do not hold yet (e.g. a review gate without an
    approval); `details["unmet"]` lists every missing requirement."""

    code = "requirements_unmet"


class LimitExceeded(ToolError):
    code = "limit_exceeded"
    http_status = 402


def not_found(argument: str, value: object) -> NotFound:
    """The one answer for a missing row and for another organization's row."""
    return NotFound(f"{argument} not found: {shown(value)}", details={"argument": argument, "value": str(value)})


def shown(value: object, limit: int = 100) -> str:
    """A value as an error message may quote it: plain if it is short printable text,
    else JSON-escaped and cut, so no message carries control characters or a novel."""
    text = str(value)
    if text.isprintable() and len(text) <= limit:
        return text
    return json.dumps(text[:limit]) + ("…" if len(text) > limit else "")


class RateLimited(ToolError):
    """An outside service (GitHub) refuses calls until a reset time (`details`)."""

    code = "rate_limited"
    http_status = 429


class UpstreamError(ToolError):
    """An outside service (GitHub) failed or could not be reached."""

    code = "upstream_error"
    http_status = 502
