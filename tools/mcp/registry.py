"""The one tool registry. A tool is a typed function with a docstring:

    @tool(category="projects", read_only=True, idempotent=True)
    def get_project(ctx: ToolContext, project: ProjectRef) -> ProjectOut:
        \"\"\"One project with its stats.\"\"\"

Its input schema comes from the parameters (pydantic, `Annotated[..., Field(...)]`
for descriptions and bounds), its output schema from the return annotation (a
TypedDict), its description from the docstring's first paragraph, and its MCP
annotations from the decorator. MCP and REST dispatch through `call_tool`.
"""

from __future__ import annotations

import inspect
import logging
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from accounts.auth import TokenIdentity
from orchestra.actor import Actor
from orchestra.bounded_json import MAX_SAFE_INTEGER
from orchestra.errors import InvalidArguments, PermissionDenied
from tools.mcp.interaction import InputRequired, Interaction

logger = logging.getLogger(__name__)

# Limits every argument of every tool obeys, checked before the tool runs (so before
# anything is written), for MCP and REST alike. Values beyond them were stored once
# and then broke every read of the row (our serialisers stop near 255 levels and at
# 64-bit integers), so they are refused at the door:
# - containers nested at most this deep, counted from the argument (`{"a": 1}` is 1);
MAX_ARGUMENT_DEPTH = 32
# - integers within ±(2^53-1), what every JSON client reads exactly (bounded_json);
# - a free-form JSON argument (one whose type admits Any: settings, metadata, state)
#   at most this many bytes as JSON. Typed arguments are bounded by their own schema
#   (max_length, max_items), and a service may hold one to less (activity metadata).
MAX_JSON_ARGUMENT_BYTES = 64 * 1024

ProgressFn = Callable[[float, float | None, str | None], None]


@dataclass
class ToolContext:
    """What a tool knows about its caller. Tools read it; they never check tokens."""

    identity: TokenIdentity
    tool_name: str
    progress: ProgressFn | None = None
    # Input-required exchanges (2026-07-28 only); None on handshake-era requests.
    interaction: Interaction | None = None
    # Answering on the memory-only fast path (answerable_from_memory said yes): read
    # caches even if they went stale since that check, never the database.
    memory_only: bool = False

    @property
    def organization(self) -> Any:
        return self.identity.organization

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.identity.user_id, token_id=self.identity.token_id, tool=self.tool_name)

    def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send a progress notification if the caller asked for them; otherwise do nothing."""
        if self.progress is not None:
            self.progress(progress, total, message)


@dataclass(frozen=True)
class ToolContent:
    """A result given as MCP content blocks (images, audio, embedded resources) rather
    than as structured JSON. Such a tool declares no output schema."""

    blocks: list[dict[str, Any]]


@dataclass
class ToolSpec:
    name: str
    category: str
    description: str
    func: Callable[..., Any]
    input_model: type[BaseModel]
    output_adapter: TypeAdapter[Any]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    read_only: bool
    destructive: bool
    idempotent: bool
    annotations: dict[str, Any] = field(default_factory=dict)
    # Client capabilities the tool cannot work without (2026-07-28 answers -32021).
    requires: dict[str, Any] = field(default_factory=dict)
    # For the few tools that can run without the database for a caller: given the
    # identity, whether this call would (the MCP fast path then runs it on the event loop).
    answerable_from_memory: Callable[[TokenIdentity], bool] | None = None
    # Arguments whose type admits any JSON: each is held to MAX_JSON_ARGUMENT_BYTES.
    free_form_arguments: frozenset[str] = frozenset()
    # A tool that writes only when this boolean argument is true (get_next_task's
    # `claim`): its hints say it may write, yet without the argument it only reads, so a
    # read-only token may still call it that way.
    writes_when: str | None = None
    # A create tool: it takes an optional `idempotency_key` (tools.mcp.idempotency),
    # which the dispatcher consumes; the tool function never sees it.
    creates: bool = False

    def listing(self) -> dict[str, Any]:
        """The tool as `tools/list` shows it."""
        listing = {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": self.annotations,
        }
        if self.output_schema is not None:
            listing["outputSchema"] = self.output_schema
        return listing


class UnknownTool(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown tool: {name}")
        self.name = name


_REGISTRY: dict[str, ToolSpec] = {}
_SORTED: dict[str, ToolSpec] | None = None  # registry() is on every request's path


def registry() -> dict[str, ToolSpec]:
    """Every registered tool by name (sorted, so listings are stable). Do not mutate."""
    global _SORTED
    if _SORTED is None:
        _SORTED = dict(sorted(_REGISTRY.items()))
    return _SORTED


def get_tool(name: str) -> ToolSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownTool(name) from None


def tool(
    *,
    category: str,
    read_only: bool,
    destructive: bool = False,
    idempotent: bool = False,
    open_world: bool = False,
    requires: dict[str, Any] | None = None,
    answerable_from_memory: Callable[[TokenIdentity], bool] | None = None,
    writes_when: str | None = None,
    creates: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a tool function (see module docstring). `requires` names client
    capabilities the tool cannot work without; `open_world` says the tool reaches
    outside Orchestra (GitHub), MCP's openWorldHint."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        spec = build_spec(
            func,
            category=category,
            read_only=read_only,
            destructive=destructive,
            idempotent=idempotent,
            creates=creates,
        )
        spec.annotations["openWorldHint"] = open_world
        spec.requires = dict(requires or {})
        spec.answerable_from_memory = answerable_from_memory
        if writes_when is not None:
            if read_only or writes_when not in spec.input_model.model_fields:
                raise TypeError(f"tool {spec.name}: writes_when names a boolean argument of a tool that may write")
            spec.writes_when = writes_when
        if spec.name in _REGISTRY and _REGISTRY[spec.name].func is not func:
            raise RuntimeError(f"tool {spec.name} is declared twice")
        _REGISTRY[spec.name] = spec
        global _SORTED
        _SORTED = None
        return func

    return decorate


IDEMPOTENCY_KEY = "idempotency_key"
IdempotencyKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Retry-safe: the same key and arguments within 24 h return the first result, not a new row.",
    ),
]


def build_spec(
    func: Callable[..., Any],
    *,
    category: str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    creates: bool = False,
) -> ToolSpec:
    hints = typing.get_type_hints(func, include_extras=True)
    params = list(inspect.signature(func).parameters.values())
    if not params or params[0].name != "ctx":
        raise TypeError(f"tool {func.__name__} must take `ctx: ToolContext` first")
    fields: dict[str, Any] = {}
    for param in params[1:]:
        if (
            param.kind is not inspect.Parameter.KEYWORD_ONLY
            and param.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD
        ):
            raise TypeError(f"tool {func.__name__}: parameter {param.name} must be a plain parameter")
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hints[param.name], default)
    if creates:
        if read_only or IDEMPOTENCY_KEY in fields:
            raise TypeError(f"tool {func.__name__}: a create tool writes, and idempotency_key is the registry's")
        fields[IDEMPOTENCY_KEY] = (IdempotencyKey | None, None)
    free_form = frozenset(name for name, (annotation, _) in fields.items() if _admits_any(annotation))
    input_model = create_model(
        f"{func.__name__}_arguments",
        __config__=ConfigDict(extra="forbid", strict=False),
        **fields,
    )
    returns_content = hints["return"] is ToolContent
    output_adapter: TypeAdapter[Any] = TypeAdapter(Any if returns_content else hints["return"])
    description = inspect.cleandoc(func.__doc__ or "").split("\n\n")[0].replace("\n", " ").strip()
    if not description:
        raise TypeError(f"tool {func.__name__} needs a docstring: it is the tool's description")
    return ToolSpec(
        name=func.__name__,
        category=category,
        description=description,
        func=func,
        input_model=input_model,
        output_adapter=output_adapter,
        input_schema=compact_schema(input_model.model_json_schema(), optional_means_absent=True),
        output_schema=None if returns_content else compact_schema(output_adapter.json_schema(mode="serialization")),
        read_only=read_only,
        destructive=destructive,
        idempotent=idempotent,
        creates=creates,
        free_form_arguments=free_form,
        annotations={
            "readOnlyHint": read_only,
            "destructiveHint": destructive,
            "idempotentHint": idempotent,
            "openWorldHint": False,
        },
    )


def _admits_any(annotation: Any) -> bool:
    """Whether a type lets any JSON through somewhere (dict[str, Any], Any | None...)."""
    return annotation is Any or any(_admits_any(arg) for arg in typing.get_args(annotation))


def compact_schema(schema: Any, *, optional_means_absent: bool = False, _in_properties: bool = False) -> Any:
    """Drop what a model does not need to read: generated titles, and pydantic's
    verbose `anyOf: [X, {type: null}]`. In input schemas an optional argument is
    simply left out (`optional_means_absent`); in output schemas a nullable value
    becomes `type: [X, "null"]`."""
    if isinstance(schema, list):
        return [compact_schema(item, optional_means_absent=optional_means_absent) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if _in_properties:
        return {
            key: compact_schema(value, optional_means_absent=optional_means_absent) for key, value in schema.items()
        }
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        out[key] = compact_schema(
            value, optional_means_absent=optional_means_absent, _in_properties=key in ("properties", "$defs")
        )
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
        (other,) = [s for s in any_of if s != {"type": "null"}]
        if optional_means_absent and out.get("default", ...) is None:
            out.pop("anyOf")
            out.pop("default")
            out = {**other, **out}
        elif isinstance(other.get("type"), str):
            out.pop("anyOf")
            out = {**other, **out, "type": [other["type"], "null"]}
    return out


@dataclass
class ToolOutcome:
    structured: dict[str, Any]
    is_error: bool
    http_status: int = 200  # what the REST API answers
    content: list[dict[str, Any]] | None = None  # content blocks, for ToolContent results
    input_required: InputRequired | None = None  # the tool needs input from the client first
    # `structured` as JSON text, when the tool succeeded: written once, by dispatch.
    encoded: bytes | None = None


def _problem_in(value: Any, path: str, depth: int) -> tuple[str, str] | None:
    """(where, what) of the first value breaking a limit every argument obeys: a NUL
    character (PostgreSQL text cannot hold one), an integer beyond ±(2^53-1), or a
    container nested deeper than MAX_ARGUMENT_DEPTH. `depth` counts the containers
    around `value` within its argument. The walk stops at the limit, so it recurses at
    most MAX_ARGUMENT_DEPTH frames."""
    if isinstance(value, str):
        return (path, "contains a NUL (U+0000) character") if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            return path, "integers must be within ±(2^53-1) (±9007199254740991), what every JSON client reads exactly"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
    if items is None:
        return None
    if depth >= MAX_ARGUMENT_DEPTH:
        return path, f"nested deeper than {MAX_ARGUMENT_DEPTH} levels"
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return f"{path}.{key!r}", "contains a NUL (U+0000) character"
        found = _problem_in(item, f"{path}.{key}", depth + 1)
        if found is not None:
            return found
    return None


def _argument_problem(spec: ToolSpec, arguments: dict[str, Any]) -> tuple[str, str] | None:
    for name, value in arguments.items():
        if isinstance(name, str) and "\x00" in name:
            return repr(name), "contains a NUL (U+0000) character"
        found = _problem_in(value, str(name), 0)
        if found is not None:
            return found
        if name in spec.free_form_arguments and value is not None:
            try:
                size = len(orjson.dumps(value))
            except TypeError:  # not JSON at all (a direct caller's Python object)
                return str(name), "is not a JSON value"
            if size > MAX_JSON_ARGUMENT_BYTES:
                return str(name), f"must be at most {MAX_JSON_ARGUMENT_BYTES} bytes of JSON (got {size})"
    return None


def validate_arguments(spec: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    found = _argument_problem(spec, arguments)
    if found is not None:
        where, problem = found
        raise InvalidArguments(
            f"invalid arguments for {spec.name}: {where}: {problem}",
            details={"problems": [{"argument": where, "problem": problem}]},
        )
    try:
        parsed = spec.input_model.model_validate(arguments)
    except ValidationError as exc:
        problems = argument_problems(spec.name, exc.errors(include_url=False, include_input=False))
        summary = "; ".join(f"{p['argument']}: {p['problem']}" for p in problems)
        raise InvalidArguments(
            f"invalid arguments for {spec.name}: {summary}", details={"problems": problems}
        ) from None
    return {name: getattr(parsed, name) for name in spec.input_model.model_fields}


def require_write(spec: ToolSpec, identity: TokenIdentity, arguments: dict[str, Any] | None = None) -> None:
    """Refuse a write by a read-only token. A `writes_when` tool is judged by its
    validated arguments: it writes only when that argument is true."""
    if spec.read_only or identity.can_write:
        return
    if spec.writes_when is not None:
        if arguments is None or not arguments.get(spec.writes_when):
            return
        raise PermissionDenied(f"{spec.name} with {spec.writes_when}=true changes data and this token is read-only")
    raise PermissionDenied(f"{spec.name} changes data and this token is read-only")


# --- validation messages in the arguments' own terms ---------------------------------
# pydantic's error locations name the members of a union it tried (`links.0.RowLink.type`,
# `status.literal[...]`): an agent knows its arguments, not our types. A location element
# that is not an argument or key name is such a member's tag.
_ARGUMENT_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "date", "datetime", "uuid", "decimal", "bytes", "none"})
_FORMS = {
    "str": "a string",
    "constrained-str": "a string",
    "int": "an integer",
    "constrained-int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "uuid": "a UUID",
    "date": "a date",
    "datetime": "a date and time",
}
_MESSAGES = {
    "missing": "is required",
    "uuid_parsing": "should be a UUID",
    "uuid_type": "should be a UUID",
}


def _is_member_tag(element: Any) -> bool:
    return isinstance(element, str) and (not _ARGUMENT_NAME.fullmatch(element) or element in _TYPE_NAMES)


def _form(tag: str) -> str:
    if tag in _FORMS:
        return _FORMS[tag]
    if tag.startswith("literal["):
        return "one of " + tag.removeprefix("literal[").removesuffix("]").replace(",", ", ")
    if tag.startswith(("list[", "tuple[", "set[")):
        return "a list"
    if tag.startswith("dict[") or tag[:1].isupper():
        return "an object"
    return "a value of another form"


def argument_problems(tool_name: str, errors: list[Any]) -> list[dict[str, str]]:
    """pydantic's errors as {argument, problem} in the caller's terms: union members'
    tags left out of the location, a union whose every member failed at the same place
    said once ("should be a string or an object"), otherwise the member that got
    furthest into the value speaks."""
    plain: list[tuple[str, str]] = []
    unions: dict[str, list[tuple[str, str, str]]] = {}  # where -> (tag, path, message)
    for err in errors:
        parts: list[str] = []
        union_at: str | None = None
        tag = ""
        for element in err["loc"]:
            if parts and _is_member_tag(element) and union_at is None:
                union_at, tag = ".".join(parts), str(element)
                continue
            parts.append(str(element))
        path = ".".join(parts) or "(arguments)"
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            message = f"is not an argument of {tool_name}" if len(parts) == 1 else "is not a known field"
        else:
            message = _MESSAGES.get(kind) or re.sub(r"^Input should", "should", err["msg"])
        if union_at is None:
            plain.append((path, message))
        else:
            unions.setdefault(union_at, []).append((tag, path, message))
    for where, tried in unions.items():
        deepest = max(len(path) for _, path, _ in tried)
        if deepest > len(where):
            plain += [(path, message) for _, path, message in tried if len(path) == deepest]
        else:
            forms = list(dict.fromkeys(_form(tag) for tag, _, _ in tried))
            plain.append((where, "should be " + " or ".join(forms)))
    unique = list(dict.fromkeys(plain))
    return [{"argument": path, "problem": problem} for path, problem in unique]
