"""The kinds of line an export holds, in the order they are written and read, and how
each field of a line is checked.

A line is one row: `{"kind": ..., "id": ..., <fields>, <references>}`. References name
other rows of the file by their ids in the file; user references (authors, assignees,
reviewers), tokens and claims never travel (docs/decisions/0019). Every field is held
to the bounds its tool holds it to: the column's own length and choices, and the
limits the tool services declare (content sizes, tag counts, links, gates,
alternatives), imported from where they are defined.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.dateparse import parse_date, parse_datetime

from memory.models import EMBEDDING_DIMENSIONS, Memory
from memory.models import MAX_CONTENT_BYTES as MEMORY_CONTENT_BYTES
from memory.services import MAX_TAGS as MEMORY_TAGS
from orchestra.errors import ToolError
from tools.activity.models import Activity
from tools.activity.services import MAX_METADATA_BYTES
from tools.agents.models import Agent
from tools.agents.services import MAX_SKILLS
from tools.decisions.models import Decision, DecisionComment, DecisionStatus
from tools.decisions.services import MAX_TAGS as DECISION_TAGS
from tools.decisions.services import clean_alternatives
from tools.features.models import Feature, GateTransition, Review
from tools.features.workflows import clean_gates
from tools.mcp.registry import MAX_ARGUMENT_DEPTH, MAX_JSON_ARGUMENT_BYTES
from tools.notes.models import MAX_CONTENT_BYTES as NOTE_CONTENT_BYTES
from tools.notes.models import Note
from tools.notes.services import clean_links
from tools.projects.models import Project
from tools.specs.models import MAX_CONTENT_BYTES as SPEC_CONTENT_BYTES
from tools.specs.models import Spec, SpecVersion
from tools.tasks.models import Task, TaskDependency
from tools.tasks.services import MAX_LABELS
from tools.worksessions.models import WorkSession
from tools.worksessions.services import MAX_STATE_BYTES

SLUG = re.compile(r"[-\w]+")
FORMAT = "orchestra-export"
FORMAT_VERSION = 1
# A line's JSON may nest no deeper than a tool argument may.
MAX_LINE_DEPTH = MAX_ARGUMENT_DEPTH
# A text column without a bound of its own in the tools: their largest free text.
DEFAULT_TEXT_BYTES = 64 * 1024


class LineError(ValueError):
    """What is wrong with one line (the importer adds its number)."""


@dataclass(frozen=True)
class Kind:
    """One kind of row: its model, the columns that travel, and its references.

    `refs` name rows of earlier kinds (each must be defined on an earlier line);
    `self_refs` name rows of the same kind (anywhere in the file: they are set once
    every row of the kind exists). `text_bytes` bounds text columns beyond
    DEFAULT_TEXT_BYTES; `list_items` bounds array columns; `check` runs the tool's own
    cleaning of a line's fields and may normalise them."""

    name: str
    model: type[models.Model]
    fields: tuple[str, ...]
    refs: dict[str, str] = field(default_factory=dict)
    self_refs: tuple[str, ...] = ()
    text_bytes: dict[str, int] = field(default_factory=dict)
    json_bytes: dict[str, int] = field(default_factory=dict)
    list_items: dict[str, int] = field(default_factory=dict)
    embedded: bool = False
    check: Callable[[dict[str, Any]], None] | None = None
    # Slugs unique in the organization: a taken one gets a -2 suffix on import.
    slug_live: dict[str, Any] | None = None


def _as_tool_error(check: Callable[[Any], Any], value: Any, name: str) -> Any:
    try:
        return check(value)
    except ToolError as exc:
        raise LineError(f"{name}: {exc}") from None
    except (AttributeError, TypeError):
        raise LineError(f"{name}: not in the shape its tool takes") from None


def _check_decision(line: dict[str, Any]) -> None:
    if not isinstance(line.get("alternatives"), list):
        raise LineError("alternatives must be a list")
    line["alternatives"] = _as_tool_error(clean_alternatives, line["alternatives"], "alternatives")
    if not line["decision"].strip():
        raise LineError("decision must not be empty")
    if line.get("pending_supersedes") and line["status"] != DecisionStatus.PROPOSED:
        raise LineError("pending_supersedes is only set on a proposed decision")


def _check_note(line: dict[str, Any]) -> None:
    if not isinstance(line.get("links"), list):
        raise LineError("links must be a list")
    line["links"] = _as_tool_error(clean_links, line["links"], "links")


def _check_feature(line: dict[str, Any]) -> None:
    if not isinstance(line.get("gates"), list) or not all(isinstance(g, dict) for g in line["gates"]):
        raise LineError("gates must be a list of gates")
    gates = _as_tool_error(clean_gates, line["gates"], "gates")
    line["gates"] = gates
    if line["gate_index"] >= len(gates) or gates[line["gate_index"]]["name"] != line["gate"]:
        raise LineError("gate and gate_index must name the same gate of gates")


def _check_memory(line: dict[str, Any]) -> None:
    if not line["content"].strip():
        raise LineError("content must not be empty")
    if not 1 <= line["importance"] <= 10:
        raise LineError("importance must be between 1 and 10")
    owners = {"agent": line.get("agent"), "project": line.get("project"), "session": line.get("session")}
    for name, value in owners.items():
        if (value is not None) != (line["scope"] == name):
            raise LineError(f"a {line['scope']}-scoped memory {'needs' if value is None else 'has no'} {name}")


def _check_task(line: dict[str, Any]) -> None:
    if line.get("parent") is not None and line["parent"] == line["id"]:
        raise LineError("a task cannot be its own parent")


def _check_dependency(line: dict[str, Any]) -> None:
    if line["task"] == line["blocker"]:
        raise LineError("a task cannot block itself")


def _check_work_session(line: dict[str, Any]) -> None:
    if not isinstance(line.get("goals"), list):
        raise LineError("goals must be a list")
    if not isinstance(line.get("state"), dict):
        raise LineError("state must be an object")


def _check_object(name: str) -> Callable[[dict[str, Any]], None]:
    def check(line: dict[str, Any]) -> None:
        if not isinstance(line.get(name), dict):
            raise LineError(f"{name} must be an object")

    return check


TIMES = ("created_at", "updated_at")

# Written and read in this order: every reference to another kind points to a kind above.
KINDS: tuple[Kind, ...] = (
    Kind(
        "project",
        Project,
        ("name", "slug", "description", "settings", "status", "archived_at", *TIMES),
        check=_check_object("settings"),
        slug_live={},
    ),
    Kind(
        "agent",
        Agent,
        ("name", "slug", "role", "description", "skills", "memory_scope", "model", "status", "deleted_at", *TIMES),
        refs={"project": "project"},
        list_items={"skills": MAX_SKILLS},
        slug_live={"deleted_at__isnull": True},
    ),
    Kind(
        "work_session",
        WorkSession,
        ("title", "goals", "context", "state", "summary", "status", *TIMES, "ended_at"),
        refs={"agent": "agent", "project": "project"},
        json_bytes={"state": MAX_STATE_BYTES},
        check=_check_work_session,
    ),
    Kind(
        "task",
        Task,
        (
            "title",
            "description",
            "status",
            "priority",
            "labels",
            "due_date",
            "completion_notes",
            "started_at",
            "completed_at",
            *TIMES,
            "deleted_at",
            "delete_reason",
        ),
        refs={"project": "project", "assignee_agent": "agent"},
        self_refs=("parent",),
        list_items={"labels": MAX_LABELS},
        check=_check_task,
    ),
    Kind(
        "task_dependency",
        TaskDependency,
        ("created_at",),
        refs={"task": "task", "blocker": "task"},
        check=_check_dependency,
    ),
    Kind(
        "decision",
        Decision,
        ("title", "decision", "rationale", "context", "alternatives", "status", "outcome", "tags", *TIMES),
        refs={"project": "project"},
        self_refs=("supersedes", "pending_supersedes"),
        list_items={"tags": DECISION_TAGS},
        embedded=True,
        check=_check_decision,
    ),
    Kind("decision_comment", DecisionComment, ("text", "created_at"), refs={"decision": "decision", "agent": "agent"}),
    Kind(
        "feature",
        Feature,
        ("title", "slug", "description", "workflow", "gates", "gate_index", "gate", "status", *TIMES, "completed_at"),
        refs={"project": "project"},
        check=_check_feature,
        slug_live={},
    ),
    Kind("gate_transition", GateTransition, ("from_gate", "to_gate", "created_at"), refs={"feature": "feature"}),
    Kind(
        "review",
        Review,
        ("gate", "verdict", "comments", "created_at"),
        refs={"feature": "feature", "agent": "agent"},
    ),
    Kind(
        "spec",
        Spec,
        ("title", "slug", "status", "version", *TIMES),
        refs={"project": "project"},
        slug_live={},
    ),
    Kind(
        "spec_version",
        SpecVersion,
        ("number", "title", "content", "change_note", "created_at"),
        refs={"spec": "spec", "agent": "agent"},
        text_bytes={"content": SPEC_CONTENT_BYTES},
    ),
    Kind(
        "memory",
        Memory,
        ("scope", "content", "tags", "importance", "metadata", "archived", "keep_separate", *TIMES),
        refs={"agent": "agent", "project": "project", "session": "work_session"},
        self_refs=("duplicate_of", "supersedes", "superseded_by"),
        text_bytes={"content": MEMORY_CONTENT_BYTES},
        list_items={"tags": MEMORY_TAGS},
        embedded=True,
        check=_check_memory,
    ),
    Kind(
        "note",
        Note,
        ("title", "content", "tags", "links", *TIMES, "deleted_at"),
        refs={"project": "project"},
        text_bytes={"content": NOTE_CONTENT_BYTES},
        list_items={"tags": DECISION_TAGS},
        check=_check_note,
    ),
    Kind(
        "activity",
        Activity,
        ("type", "description", "metadata", "tool", "target_type", "target_id", "created_at"),
        refs={"project": "project", "agent": "agent", "session": "work_session"},
        json_bytes={"metadata": MAX_METADATA_BYTES},
        check=_check_object("metadata"),
    ),
)
KIND_BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}
ORDER: dict[str, int] = {kind.name: n for n, kind in enumerate(KINDS)}


def model_field(kind: Kind, name: str) -> models.Field[Any, Any]:
    found = kind.model._meta.get_field(name)
    assert isinstance(found, models.Field)
    return found


def _column_of(kind: Kind, name: str) -> str:
    """The column of a reference (`project` -> `project_id`)."""
    return model_field(kind, name).attname


def columns(kind: Kind) -> list[str]:
    """What an export reads of a row: its id, its fields and its references' columns."""
    return ["id", *kind.fields, *(_column_of(kind, ref) for ref in (*kind.refs, *kind.self_refs))]


# --- writing ------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def line_of(kind: Kind, row: dict[str, Any]) -> dict[str, Any]:
    """A row read with `columns(kind)` as the line that carries it."""
    line: dict[str, Any] = {"kind": kind.name, "id": str(row["id"])}
    for name in kind.fields:
        line[name] = to_json(row[name])
    for ref in (*kind.refs, *kind.self_refs):
        value = row[_column_of(kind, ref)]
        line[ref] = None if value is None else str(value)
    return line


# --- reading ------------------------------------------------------------------------


def parse_id(value: Any, name: str) -> uuid.UUID:
    if not isinstance(value, str) or len(value) > 36:
        raise LineError(f"{name} must be a UUID")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise LineError(f"{name} must be a UUID") from None


def _text(value: Any, name: str, *, max_chars: int | None, max_bytes: int, blank: bool) -> str:
    if not isinstance(value, str):
        raise LineError(f"{name} must be a string")
    if max_chars is not None and len(value) > max_chars:
        raise LineError(f"{name} must be at most {max_chars} characters")
    if len(value.encode()) > max_bytes:
        raise LineError(f"{name} must be at most {max_bytes // 1024} KiB")
    if not blank and not value.strip():
        raise LineError(f"{name} must not be empty")
    if "\x00" in value:
        raise LineError(f"{name} must not hold NUL characters")
    return value


def _value(kind: Kind, name: str, value: Any) -> Any:
    """One field of a line, checked against its column and its tool's bounds."""
    column = model_field(kind, name)
    if value is None:
        if column.null:
            return None
        raise LineError(f"{name} must be set")
    if isinstance(column, models.DateTimeField):
        parsed = parse_datetime(value) if isinstance(value, str) and len(value) <= 40 else None
        if parsed is None or parsed.tzinfo is None:
            raise LineError(f"{name} must be an ISO 8601 time with its offset")
        return parsed
    if isinstance(column, models.DateField):
        day = parse_date(value) if isinstance(value, str) and len(value) <= 10 else None
        if day is None:
            raise LineError(f"{name} must be an ISO 8601 date")
        return day
    if isinstance(column, models.BooleanField):
        if not isinstance(value, bool):
            raise LineError(f"{name} must be true or false")
        return value
    if isinstance(column, models.IntegerField):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32767:
            raise LineError(f"{name} must be a whole number between 0 and 32767")
        return value
    if isinstance(column, models.UUIDField):
        return parse_id(value, name)
    if isinstance(column, models.JSONField):
        encoded = orjson.dumps(value)
        limit = kind.json_bytes.get(name, MAX_JSON_ARGUMENT_BYTES)
        if len(encoded) > limit:
            raise LineError(f"{name} must be at most {limit} bytes of JSON")
        if b"\\u0000" in encoded:  # PostgreSQL's jsonb holds no NUL character
            raise LineError(f"{name} must not hold NUL characters")
        return value
    if isinstance(column, ArrayField):
        limit = kind.list_items[name]
        if not isinstance(value, list) or len(value) > limit:
            raise LineError(f"{name} must be a list of at most {limit} items")
        return [
            _text(item, f"{name}[{n}]", max_chars=column.base_field.max_length, max_bytes=1024, blank=False)
            for n, item in enumerate(value)
        ]
    if isinstance(column, models.SlugField):
        if not isinstance(value, str) or not SLUG.fullmatch(value) or len(value) > (column.max_length or 50):
            raise LineError(f"{name} must be a slug of at most {column.max_length} letters, digits and hyphens")
        return value
    if isinstance(column, models.CharField | models.TextField):
        text = _text(
            value,
            name,
            max_chars=column.max_length,
            max_bytes=kind.text_bytes.get(name, DEFAULT_TEXT_BYTES),
            blank=column.blank,
        )
        if column.choices and text not in {choice for choice, _ in column.flatchoices}:
            allowed = ", ".join(str(choice) for choice, _ in column.flatchoices)
            raise LineError(f"{name} must be one of {allowed}")
        return text
    raise LineError(f"{name} cannot be imported")  # a column type this table does not know


def checked(kind: Kind, line: dict[str, Any]) -> dict[str, Any]:
    """The line's fields, each checked and converted; references as UUIDs (or None).
    Keys the kind does not know are refused: a line says exactly what it carries."""
    known = {"kind", "id", "embedding_model", "embedding", *kind.fields, *kind.refs, *kind.self_refs}
    unknown = sorted(set(line) - known)
    if unknown:
        raise LineError(f"unknown field {unknown[0]} for a {kind.name}")
    out: dict[str, Any] = {"id": parse_id(line.get("id"), "id")}
    for name in kind.fields:
        if name not in line:
            raise LineError(f"{name} is missing")
        out[name] = _value(kind, name, line[name])
    for ref in (*kind.refs, *kind.self_refs):
        value = line.get(ref)
        out[ref] = None if value is None else parse_id(value, ref)
    for ref in kind.refs:
        if out[ref] is None and not model_field(kind, ref).null:
            raise LineError(f"{ref} must be set")
    if kind.embedded:
        out["embedding_model"] = _text(
            line.get("embedding_model", ""), "embedding_model", max_chars=100, max_bytes=400, blank=True
        )
        out["embedding"] = _vector(line.get("embedding"))
    if kind.check is not None:
        kind.check(out)
    return out


def _vector(value: Any) -> list[float] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != EMBEDDING_DIMENSIONS
        or not all(isinstance(x, float | int) and not isinstance(x, bool) and -2 < x < 2 for x in value)
    ):
        raise LineError(f"embedding must be {EMBEDDING_DIMENSIONS} numbers (or left out)")
    return [float(x) for x in value]
