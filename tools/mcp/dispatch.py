"""Run one tool call: permission, validation, tenancy, one transaction."""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from typing import Any

import orjson
from django.db import transaction

from accounts.auth import TokenIdentity
from billing.selectors import plan_scope
from orchestra import bounded_json
from orchestra.errors import InvalidArguments, PermissionDenied, ToolError
from orchestra.tenancy import ProjectScopeError, project_scope, tenant_scope
from tools.mcp import idempotency
from tools.mcp.interaction import InputRequired, Interaction
from tools.mcp.registry import (
    ProgressFn,
    ToolContent,
    ToolContext,
    ToolOutcome,
    ToolSpec,
    get_tool,
    require_write,
    validate_arguments,
)

logger = logging.getLogger(__name__)

# The largest answer a read-only tool may give, as JSON. Lists end well below it (a
# page stops past 1 MiB: orchestra.pagination); this bounds the rest, such as a
# search for 50 hits of 64 KiB memories. On MCP the answer travels twice (as text and
# as structuredContent), so about 4.5 MiB on the wire at most. A tool that writes is
# never refused here (its work is committed; its answer is bounded by its arguments).
MAX_ANSWER_BYTES = 2 * 1024 * 1024


class RequestCancelled(Exception):
    """The client cancelled the request (or went away) before it finished."""


def call_tool(
    name: str,
    arguments: Any,
    identity: TokenIdentity,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    interaction: Interaction | None = None,
    memory_only: bool = False,
) -> ToolOutcome:
    """Call tool `name` as `identity`. Raises UnknownTool; every ToolError becomes an
    error outcome with nothing written; any other exception propagates (internal).

    A request cancelled while its tool runs is rolled back (RequestCancelled), so a
    cancelled write never lands behind the client's back."""
    spec = get_tool(name)
    try:
        require_write(spec, identity)
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise InvalidArguments("arguments must be a JSON object")
        kwargs = validate_arguments(spec, arguments)
        require_write(spec, identity, kwargs)
        writes = not spec.read_only and (spec.writes_when is None or bool(kwargs.get(spec.writes_when)))
        key = kwargs.pop(idempotency.ARGUMENT, None) if spec.creates else None
        digest = idempotency.arguments_digest(name, arguments) if key is not None else ""
        ctx = ToolContext(
            identity=identity, tool_name=name, progress=progress, interaction=interaction, memory_only=memory_only
        )
        # A tool that writes runs in one transaction with its audit rows; a read-only
        # tool runs in autocommit, saving the BEGIN and COMMIT round trips. A
        # project-restricted token's project scope is applied by the managers.
        with (
            tenant_scope(identity.organization),
            project_scope(identity.project_id),
            # The plan the identity carries (at most AUTH_CACHE_SECONDS old) saves the
            # writing services a query.
            plan_scope(identity.organization.pk, identity.plan),
            transaction.atomic() if writes else nullcontext(),
        ):
            if key is not None and (first := idempotency.replay(identity, name, key, digest)) is not None:
                return ToolOutcome(structured=first, is_error=False, encoded=orjson.dumps(first))
            result = spec.func(ctx, **kwargs)
            if cancel is not None and cancel.is_set():
                raise RequestCancelled(name)
            if key is not None:
                # Remembered in the call's own transaction: the row and its answer land together.
                structured, encoded = render_output(spec, result)
                idempotency.remember(identity, name, key, digest, structured)
        if isinstance(result, ToolContent):
            return ToolOutcome(structured={}, is_error=False, content=result.blocks)
        if key is None:
            structured, encoded = render_output(spec, result)
        if len(encoded) > MAX_ANSWER_BYTES and not writes:
            raise InvalidArguments(
                f"the answer would be {len(encoded)} bytes, more than the {MAX_ANSWER_BYTES} one answer may hold: "
                "ask for less (a lower limit, a narrower filter)",
                details={"answer_bytes": len(encoded), "limit_bytes": MAX_ANSWER_BYTES},
            )
        return ToolOutcome(structured=structured, is_error=False, encoded=encoded)
    except InputRequired as needed:
        if interaction is None:
            error = ToolError(f"{name} needs input from the client, which needs protocol revision 2026-07-28")
            return ToolOutcome(structured=error.as_dict(), is_error=True, http_status=error.http_status)
        return ToolOutcome(structured={}, is_error=False, input_required=needed)
    except ProjectScopeError:
        # A write the managers refused (rolled back with the transaction): the token
        # is confined to its project, whatever the tool tried to touch.
        error = PermissionDenied("this token is restricted to one project; the change would reach outside it")
        return ToolOutcome(structured=error.as_dict(), is_error=True, http_status=error.http_status)
    except ToolError as exc:
        return ToolOutcome(structured=exc.as_dict(), is_error=True, http_status=exc.http_status)


def render_output(spec: ToolSpec, result: Any) -> tuple[dict[str, Any], bytes]:
    """A tool's answer as JSON data and as JSON text, which every transport then sends.

    New arguments are bounded (registry.validate_arguments), but a row stored before
    (or written by SQL) may hold an integer beyond 64 bits or a value nested past the
    ~255 levels pydantic and orjson take: that once made every read of the row a 500.
    Such an answer is written again through bounded_json.readable (big integers as
    strings, too-deep parts as their JSON text), only when the normal path fails, so an
    ordinary answer pays nothing for it."""
    try:
        structured = spec.output_adapter.dump_python(result, mode="json")
        return structured, orjson.dumps(structured)
    except (ValueError, TypeError):  # pydantic's "depth exceeded"; orjson's errors are TypeErrors
        logger.warning("%s answered values JSON writers cannot take: written readable", spec.name)
    structured = spec.output_adapter.dump_python(bounded_json.readable(result), mode="json", warnings=False)
    return structured, orjson.dumps(structured)
