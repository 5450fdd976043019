"""JSON-RPC 2.0 framing: parsing, classifying and shaping messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestra import bounded_json

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# MCP's own codes (revision 2026-07-28).
HEADER_MISMATCH = -32020  # an Mcp-* header disagrees with the body
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
UNSUPPORTED_PROTOCOL_VERSION = -32022
# Redis or the database is away (orchestra.outages): try again after Retry-After. In
# the range MCP leaves to implementations (-32000..-32019), clear of the SDKs' own.
SERVICE_UNAVAILABLE = -32010


class JsonRpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None, *, request_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.request_id = request_id

    def response(self) -> dict[str, Any]:
        return error_response(self.request_id, self.code, self.message, self.data)


def error_response(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def result_response(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


@dataclass(frozen=True)
class Message:
    kind: str  # "request", "notification" or "response"
    raw: dict[str, Any]

    @property
    def id(self) -> Any:
        return self.raw.get("id")

    @property
    def method(self) -> str:
        return str(self.raw.get("method", ""))

    @property
    def params(self) -> dict[str, Any]:
        params = self.raw.get("params")
        return params if isinstance(params, dict) else {}


def parse_body(body: bytes | str) -> tuple[list[Any], bool]:
    """The body's messages (unvalidated) and whether it was a batch. Every transport
    parses through here (or `bounded_json`): a body nested deeper than
    bounded_json.MAX_DOCUMENT_DEPTH is an invalid request, answered at once."""
    return parse_loaded(lambda: bounded_json.loads(body))


def parse_loaded(load: Callable[[], Any]) -> tuple[list[Any], bool]:
    """parse_body for a body parsed by `load` (a request that keeps its parsed body)."""
    try:
        payload = load()
    except bounded_json.JsonTooDeep as exc:
        raise JsonRpcError(INVALID_REQUEST, f"Invalid Request: {exc}") from None
    except ValueError:  # UnicodeDecodeError and orjson's JSONDecodeError included
        raise JsonRpcError(PARSE_ERROR, "Parse error: the body is not valid JSON") from None
    if isinstance(payload, list):
        if not payload:
            raise JsonRpcError(INVALID_REQUEST, "Invalid Request: empty batch")
        return payload, True
    return [payload], False


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def classify(item: Any) -> Message:
    """Check one message's shape; raise -32600 for anything that is not JSON-RPC 2.0."""
    if not isinstance(item, dict) or item.get("jsonrpc") != "2.0":
        raise JsonRpcError(INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
    has_id = "id" in item
    if has_id and not _valid_id(item["id"]):
        raise JsonRpcError(INVALID_REQUEST, "Invalid Request: id must be a string or an integer")
    request_id = item.get("id")
    if "method" in item:
        if not isinstance(item["method"], str) or not item["method"]:
            raise JsonRpcError(INVALID_REQUEST, "Invalid Request: method must be a string", request_id=request_id)
        if "params" in item and not isinstance(item["params"], dict):
            raise JsonRpcError(INVALID_REQUEST, "Invalid Request: params must be an object", request_id=request_id)
        return Message("request" if has_id else "notification", item)
    if has_id and ("result" in item or "error" in item):
        return Message("response", item)
    raise JsonRpcError(INVALID_REQUEST, "Invalid Request: no method", request_id=request_id)
