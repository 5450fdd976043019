"""Which tools a connection sees: toolsets, tool names, and what the token may call.

    https://orchestra.example/mcp?toolsets=tasks,memory      X-Orchestra-Toolsets: tasks,memory
    https://orchestra.example/mcp?tools=create_task,get_task X-Orchestra-Tools: create_task,get_task

Both narrow `tools/list` and `tools/call` of the connection: toolsets to tools of those
categories, tools to those names (and `get_context` stays in either way: every agent
calls it first). Given in the query and the header, a tool must be in both; given
toolsets and names, a tool must match both. No narrowing means the whole catalogue. An
unknown name is an error at once, so a typo never silently hides tools.

Apart from what a client asks for, a read-only token is not shown the tools that only
write (it could not call them); a tool that writes only on request (get_next_task's
`claim`) stays listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from tools.mcp.registry import ToolSpec, registry

# Always listed: the first call an agent makes, to learn who it is and what it may do.
ALWAYS = frozenset({"get_context"})


class UnknownToolset(ValueError):
    """A toolset or tool name that is not in this server's catalogue."""

    def __init__(self, message: str, known: list[str]) -> None:
        super().__init__(message)
        self.known = known


@dataclass(frozen=True)
class Selection:
    """What a connection narrowed the catalogue to (None: not narrowed that way)."""

    categories: frozenset[str] | None = None
    names: frozenset[str] | None = None

    def allows(self, spec: ToolSpec) -> bool:
        if spec.name in ALWAYS:
            return True
        return (self.categories is None or spec.category in self.categories) and (
            self.names is None or spec.name in self.names
        )


@dataclass(frozen=True)
class _Filter:
    noun: str  # "toolset" or "tool"
    query: str
    header: str  # lower case, as transports hand headers over
    header_title: str

    def known(self) -> list[str]:
        specs = registry().values()
        return sorted({spec.category for spec in specs} if self.noun == "toolset" else {spec.name for spec in specs})


TOOLSETS = _Filter("toolset", "toolsets", "x-orchestra-toolsets", "X-Orchestra-Toolsets")
TOOLS = _Filter("tool", "tools", "x-orchestra-tools", "X-Orchestra-Tools")


def _parse(kind: _Filter, raw: str, source: str) -> frozenset[str]:
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if kind is TOOLSETS:
        names = [name.lower() for name in names]
    known = kind.known()
    if not names:
        raise UnknownToolset(f"{source} names no {kind.noun}", known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        listing = f"; known toolsets: {', '.join(known)}" if kind is TOOLSETS else " (tools/list names them)"
        plural = "s" if len(unknown) > 1 else ""
        raise UnknownToolset(f"unknown {kind.noun}{plural} in {source}: {', '.join(unknown)}{listing}", known)
    return frozenset(names)


def _requested(kind: _Filter, query: dict[str, list[str]], headers: dict[str, str]) -> frozenset[str] | None:
    query_values, header_value = query.get(kind.query), headers.get(kind.header)
    selected: frozenset[str] | None = None
    if query_values is not None:
        selected = _parse(kind, ",".join(query_values), f"?{kind.query}=")
    if header_value is not None:
        from_header = _parse(kind, header_value, f"the {kind.header_title} header")
        selected = from_header if selected is None else selected & from_header
        if not selected:
            raise UnknownToolset(
                f"?{kind.query}= and the {kind.header_title} header have no {kind.noun} in common", kind.known()
            )
    return selected


def requested_toolsets(query_string: str, headers: dict[str, str]) -> Selection | None:
    """What a request narrows the catalogue to (None: nothing). Raises UnknownToolset."""
    query = parse_qs(query_string, keep_blank_values=True)
    categories, names = _requested(TOOLSETS, query, headers), _requested(TOOLS, query, headers)
    if categories is None and names is None:
        return None
    return Selection(categories=categories, names=names)


def callable_by(spec: ToolSpec, *, can_write: bool) -> bool:
    """Whether a token may call the tool at all (a read-only one: not the write-only tools)."""
    return can_write or spec.read_only or spec.writes_when is not None


def allows(selection: Selection | None, spec: ToolSpec) -> bool:
    return selection is None or selection.allows(spec)


def narrow(specs: Iterable[ToolSpec], selection: Selection | None, *, can_write: bool = True) -> list[ToolSpec]:
    return [spec for spec in specs if allows(selection, spec) and callable_by(spec, can_write=can_write)]
