"""JSON in and out with bounds, for everything a client sends or reads.

- `loads` parses a request document (MCP message, REST body, cursor) and refuses one
  nested deeper than `MAX_DOCUMENT_DEPTH`. Python's json recurses (a document about
  1,000 deep raises RecursionError, which killed requests and streams), and orjson
  stops at 1,024 levels; neither is a limit a client should be able to reach.
- `readable` makes an already-stored value writable as JSON again, whatever is in it:
  rows written before the argument limits (or by SQL) may hold integers beyond 64
  bits or values nested deeper than our serialisers go, and reading them must not
  be a 500.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Depth of a whole request document. Above the 32 levels a tool argument may have
# (tools/mcp/registry.py), with room for the JSON-RPC envelope and a batch around it,
# so a deep argument gets the argument error that names it.
MAX_DOCUMENT_DEPTH = 64
# The largest integer every JSON reader holds exactly (an IEEE double's 53-bit
# mantissa: JavaScript's Number.MAX_SAFE_INTEGER).
MAX_SAFE_INTEGER = 2**53 - 1
# Values written out are shown in full down to this depth (from the top of a tool's
# answer); deeper parts become their JSON text. Pydantic and orjson stop near 255.
MAX_OUTPUT_DEPTH = 64


class JsonTooDeep(ValueError):
    """The document is valid JSON nested deeper than allowed."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def loads(data: bytes | bytearray | memoryview | str, *, max_depth: int = MAX_DOCUMENT_DEPTH) -> Any:
    """Parse `data`; ValueError when it is not JSON, JsonTooDeep (a ValueError) when it
    is nested deeper than `max_depth` containers (`[]` is one level, `1` none)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):  # orjson's own, at 1,024
            raise JsonTooDeep(max_depth) from None
        raise
    # A document with no more opening brackets than the limit cannot be deeper: two
    # counts in C instead of a walk, for the small requests that are nearly all of them.
    raw = data.encode() if isinstance(data, str) else bytes(data) if not isinstance(data, bytes) else data
    if raw.count(b"[") + raw.count(b"{") > max_depth and deeper_than(value, max_depth):
        raise JsonTooDeep(max_depth)
    return value


def deeper_than(value: Any, max_depth: int) -> bool:
    """Whether `value` nests more than `max_depth` containers. Stops descending past
    the limit, so it never recurses more than `max_depth + 1` frames."""
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list | tuple):
        children = value
    else:
        return False
    if max_depth <= 0:
        return True
    return any(isinstance(child, dict | list | tuple) and deeper_than(child, max_depth - 1) for child in children)


def readable(value: Any, *, max_depth: int = MAX_OUTPUT_DEPTH) -> Any:
    """`value` with what JSON writers or readers cannot take replaced, for output:

    - an integer beyond ±(2^53-1) becomes its decimal string: orjson refuses integers
      beyond 64 bits, and JavaScript clients would silently round anything past 2^53;
      a string keeps every digit;
    - a container deeper than `max_depth` becomes its JSON text (a string), or a
      placeholder when even that cannot be written.

    Other values (datetimes, UUIDs, ...) are left for the caller's serialiser."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > MAX_SAFE_INTEGER else value
    if isinstance(value, dict | list | tuple):
        if max_depth <= 0:
            return _as_text(value)
        if isinstance(value, dict):
            return {key: readable(item, max_depth=max_depth - 1) for key, item in value.items()}
        return [readable(item, max_depth=max_depth - 1) for item in value]
    return value


def _as_text(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        return "[a value nested too deeply to show]"
