"""The REST face of the tool registry: `POST /api/v1/tools/<name>` with the same
JSON arguments, the same token auth and the same results as MCP `tools/call`."""

from __future__ import annotations

import copy
from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request as DrfRequest
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.auth import TokenIdentity
from orchestra.errors import NotFound
from tools.mcp.dispatch import call_tool
from tools.mcp.registry import UnknownTool, registry


class ToolCallView(APIView):
    """Call one tool. The body is the tool's arguments as a JSON object."""

    @extend_schema(exclude=True)  # documented per tool by expand_tool_paths
    def post(self, request: DrfRequest, name: str) -> Response:
        identity = cast(TokenIdentity, request.auth)
        headers = getattr(request._request, "rate_limit_headers", {})
        try:
            outcome = call_tool(name, request.data, identity)
        except UnknownTool:
            return Response(NotFound(f"unknown tool: {name}").as_dict(), status=404, headers=headers)
        body = {"content": outcome.content} if outcome.content is not None else outcome.structured
        return Response(body, status=outcome.http_status, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's errors in the same {"error": {code, message, details}} shape as tools."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail if not isinstance(detail, dict | list) else exc.default_detail)
        response.data = {"error": {"code": exc.default_code, "message": message, "details": {}}}
    return response


_CONTENT_SCHEMA = {
    "type": "object",
    "properties": {"content": {"type": "array", "items": {"type": "object"}}},
    "required": ["content"],
}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
            "required": ["code", "message"],
        }
    },
}


def _move_defs(schema: dict[str, Any], prefix: str, components: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema `$defs` become OpenAPI components; refs are rewritten to match."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (
                    value.replace("#/$defs/", f"#/components/schemas/{prefix}")
                    if key == "$ref" and isinstance(value, str)
                    else rewrite(value)
                )
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    schema = copy.deepcopy(schema)
    for def_name, definition in schema.pop("$defs", {}).items():
        components[f"{prefix}{def_name}"] = rewrite(definition)
    rewritten: dict[str, Any] = rewrite(schema)
    return rewritten


def expand_tool_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular hook: one documented path per tool instead of one generic path."""
    paths = result.setdefault("paths", {})
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ToolError"] = _ERROR_SCHEMA
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An Orchestra MCP token (orch_live_… or orch_test_…).",
    }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolError"}}}}
    for name, spec in registry().items():
        paths[f"/api/v1/tools/{name}"] = {
            "post": {
                "operationId": name,
                "summary": spec.description,
                "tags": [spec.category],
                "security": [{"bearerAuth": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _move_defs(spec.input_schema, f"{name}_", schemas)}},
                },
                "responses": {
                    "200": {
                        "description": "The tool's result.",
                        "content": {
                            "application/json": {
                                "schema": _move_defs(spec.output_schema or _CONTENT_SCHEMA, f"{name}_out_", schemas)
                            }
                        },
                    },
                    "400": {"description": "Invalid arguments.", **error},
                    "401": {"description": "Missing or invalid token."},
                    "403": {"description": "The token may not do this.", **error},
                    "404": {"description": "A referenced row does not exist.", **error},
                    "429": {"description": "Rate limited."},
                },
            }
        }
    return result
