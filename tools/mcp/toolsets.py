"""Toolsets: a client may narrow the catalogue to the categories it needs.

    https://orchestra.example/mcp?toolsets=tasks,memory
    X-Orchestra-Toolsets: tasks,memory

Both limit `tools/list` and `tools/call` of the connection to tools of those
categories (and `get_context`, which every agent calls first). Given both, a tool
must be in both. No toolsets means the whole catalogue. An unknown name is an error
at once, so a typo never silently hides tools.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qs

from tools.mcp.registry import ToolSpec, registry

QUERY_PARAMETER = "toolsets"
HEADER = "x-orchestra-toolsets"  # lower case, as transports hand headers over
# Always listed: the first call an agent makes, to learn who it is and what it may do.
ALWAYS = frozenset({"get_context"})


class UnknownToolset(ValueError):
    """A toolset name that is not a category of this server's catalogue."""


def known_toolsets() -> list[str]:
    return sorted({spec.category for spec in registry().values()})


def _parse(raw: str, source: str) -> frozenset[str]:
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    if not names:
        raise UnknownToolset(f"{source} names no toolset; known toolsets: {', '.join(known_toolsets())}")
    unknown = sorted(set(names) - set(known_toolsets()))
    if unknown:
        raise UnknownToolset(
            f"unknown toolset{'s' if len(unknown) > 1 else ''} in {source}: {', '.join(unknown)}; "
            f"known toolsets: {', '.join(known_toolsets())}"
        )
    return frozenset(names)


def requested_toolsets(query_string: str, headers: dict[str, str]) -> frozenset[str] | None:
    """The toolsets a request asks for (None: all of them). Raises UnknownToolset."""
    query_values = parse_qs(query_string, keep_blank_values=True).get(QUERY_PARAMETER)
    header_value = headers.get(HEADER)
    selected: frozenset[str] | None = None
    if query_values is not None:
        selected = _parse(",".join(query_values), f"?{QUERY_PARAMETER}=")
    if header_value is not None:
        from_header = _parse(header_value, "the X-Orchestra-Toolsets header")
        selected = from_header if selected is None else selected & from_header
        if not selected:
            raise UnknownToolset("?toolsets= and the X-Orchestra-Toolsets header have no toolset in common")
    return selected


def allows(toolsets: frozenset[str] | None, spec: ToolSpec) -> bool:
    return toolsets is None or spec.category in toolsets or spec.name in ALWAYS


def narrow(specs: Iterable[ToolSpec], toolsets: frozenset[str] | None) -> list[ToolSpec]:
    return [spec for spec in specs if allows(toolsets, spec)]
