"""Run one tool call: permission, validation, tenancy, one transaction."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Any

from django.db import transaction

from accounts.auth import TokenIdentity
from orchestra.errors import InvalidArguments, PermissionDenied, ToolError
from orchestra.tenancy import ProjectScopeError, project_scope, tenant_scope
from tools.mcp.interaction import InputRequired, Interaction
from tools.mcp.registry import (
    ProgressFn,
    ToolContent,
    ToolContext,
    ToolOutcome,
    get_tool,
    require_write,
    validate_arguments,
)


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
        ctx = ToolContext(identity=identity, tool_name=name, progress=progress, interaction=interaction)
        # A tool that writes runs in one transaction with its audit rows; a read-only
        # tool runs in autocommit, saving the BEGIN and COMMIT round trips. A
        # project-restricted token's project scope is applied by the managers.
        with (
            tenant_scope(identity.organization),
            project_scope(identity.project_id),
            transaction.atomic() if not spec.read_only else nullcontext(),
        ):
            result = spec.func(ctx, **kwargs)
            if cancel is not None and cancel.is_set():
                raise RequestCancelled(name)
        if isinstance(result, ToolContent):
            return ToolOutcome(structured={}, is_error=False, content=result.blocks)
        return ToolOutcome(structured=spec.output_adapter.dump_python(result, mode="json"), is_error=False)
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
