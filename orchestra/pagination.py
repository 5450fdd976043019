"""Keyset pagination shared by every list tool and dashboard page.

A cursor is opaque to clients: base64 of the (created_at, id) of the last row of
the page. Ordering is newest first by default; keyset (not offset) pagination keeps
pages stable while rows are being inserted.

A page is bounded in bytes as well as rows: it stops adding rows once they pass
MAX_PAGE_BYTES and ends with a cursor, so no list answer grows to the size of
`limit` rows of the largest content (100 memories of 64 KiB, plus metadata).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from orchestra import bounded_json
from orchestra.errors import InvalidArguments

M = TypeVar("M", bound=models.Model)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Rows are added to a page until they pass this size (the row that passes it is
# kept: a page always has a row, and one row is bounded by the argument limits).
MAX_PAGE_BYTES = 1024 * 1024
# Ours are about 80 characters; anything much longer was not issued by us.
MAX_CURSOR_CHARS = 500
INVALID_CURSOR = "cursor is not valid: pass next_cursor from a previous page"


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(created_at: datetime, pk: Any) -> str:
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at in UTC, id) a cursor names; InvalidArguments for anything that is
    not a cursor we issued: every malformed, forged or out-of-range value (an offset
    PostgreSQL refuses, a time outside what it stores, JSON nested deep) is the one
    invalid-cursor error, never a database error."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = bounded_json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not (isinstance(payload, list) and len(payload) == 2 and all(isinstance(p, str) for p in payload)):
            raise ValueError("not a (created_at, id) pair")
        created = datetime.fromisoformat(payload[0])
        # We write every cursor in UTC. Any other offset was not issued by us, and
        # PostgreSQL refuses some ISO 8601 allows (beyond ±15:59): a 500 once.
        if created.utcoffset() != timedelta(0):
            raise ValueError("not in UTC")
        return created.replace(tzinfo=UTC), payload[1]
    except (ValueError, TypeError) as exc:  # binascii.Error and JsonTooDeep are ValueErrors
        raise InvalidArguments(INVALID_CURSOR) from exc


def paginate(queryset: models.QuerySet[M], *, limit: int, cursor: str | None, newest_first: bool = True) -> Page:
    """One page of `queryset` ordered by (created_at, id); one query. The page ends
    early, with a cursor, once its rows pass MAX_PAGE_BYTES."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArguments(f"limit must be between 1 and {MAX_LIMIT}")
    queryset = queryset.order_by("-created_at", "-id") if newest_first else queryset.order_by("created_at", "id")
    if cursor:
        created, raw_pk = decode_cursor(cursor)
        try:
            pk = queryset.model._meta.pk.to_python(raw_pk)
        except ValidationError as exc:
            raise InvalidArguments(INVALID_CURSOR) from exc
        if newest_first:
            queryset = queryset.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk))
        else:
            queryset = queryset.filter(Q(created_at__gt=created) | Q(created_at=created, id__gt=pk))
    rows = list(queryset[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    size = 0
    for index, row in enumerate(rows):
        size += _row_size(row)
        if size > MAX_PAGE_BYTES and index + 1 < len(rows):
            rows, has_more = rows[: index + 1], True
            break
    # Every paginated model has created_at (keyset order is (created_at, id)).
    next_cursor = encode_cursor(getattr(rows[-1], "created_at"), rows[-1].pk) if has_more and rows else None  # noqa: B009
    return Page(items=rows, next_cursor=next_cursor)


def _row_size(row: models.Model) -> int:
    """About how many bytes `row` adds to an answer: its loaded columns as JSON. A tool
    shows about what its rows hold (a list that leaves a large column out should defer
    it, as it then saves reading it too). Deferred columns are not loaded for this."""
    deferred = row.get_deferred_fields()
    values = [getattr(row, f.attname) for f in row._meta.concrete_fields if f.attname not in deferred]
    try:
        return len(orjson.dumps(values, default=str))
    except TypeError:  # a stored value beyond what orjson writes (a 70-bit integer, 255+ levels)
        return len(repr(bounded_json.readable(values)))
