"""Compact answers: an agent pays for every byte of an answer in its context window.

Answer shapes are TypedDicts. A field that is often empty (a blank description, no
labels, no assignee, a flag that is false) is declared `NotRequired` and left out of
the answer when empty; its absence means exactly "empty" (null, "", [], {}, false),
which the output schema says by not listing it as required. Required fields are always
present, empty or not. Lists return a brief per row; gets return the detail.
"""

from __future__ import annotations

import functools
import typing
from datetime import datetime, timedelta
from typing import Annotated, Any, NotRequired, TypeVar

from pydantic import PlainSerializer, WithJsonSchema

T = TypeVar("T")


def _is_empty(value: Any) -> bool:
    """null, "", [], {} and false. Zero is a value (a count, an importance), never empty."""
    if value is None or value is False:
        return True
    return isinstance(value, str | list | dict | tuple) and not value


@functools.cache
def optional_keys(shape: type) -> frozenset[str]:
    """The fields of a TypedDict declared NotRequired (its bases' included). Read from
    the resolved hints: modules with postponed annotations leave typing's own
    `__optional_keys__` empty."""
    hints = typing.get_type_hints(shape, include_extras=True)
    return frozenset(name for name, hint in hints.items() if typing.get_origin(hint) is NotRequired)


def present(shape: type[T], **values: Any) -> T:
    """An answer of `shape` from `values`, its empty optional fields left out."""
    optional = optional_keys(typing.cast(type, shape))
    return typing.cast(T, {k: v for k, v in values.items() if k not in optional or not _is_empty(v)})


# How much of a long text a list row carries (the get tool has all of it).
EXCERPT_CHARS = 160


def excerpt(text: str, chars: int = EXCERPT_CHARS) -> str:
    """The start of `text` on one line, cut at a word with "…" when longer than `chars`."""
    flat = " ".join(text.split())
    if len(flat) <= chars:
        return flat
    cut = flat[: chars - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def _to_the_second(value: datetime) -> str:
    if value.utcoffset() == timedelta(0):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.replace(microsecond=0).isoformat()


# A moment in an answer, to the second (UTC, "Z"): an agent never needs microseconds,
# and each costs seven bytes in every row.
Instant = Annotated[
    datetime,
    PlainSerializer(_to_the_second, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
