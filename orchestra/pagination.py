"""Keyset pagination shared by every list tool.

A cursor is opaque to clients: base64 of the (created_at, id) of the last row of
the page. Ordering is newest first by default; keyset (not offset) pagination keeps
pages stable while rows are being inserted.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from orchestra.errors import InvalidArguments

M = TypeVar("M", bound=models.Model)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(created_at: datetime, pk: Any) -> str:
    raw = json.dumps([created_at.isoformat(), str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created), str(pk)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidArguments("cursor is not valid: pass next_cursor from a previous page") from exc


def paginate(queryset: models.QuerySet[M], *, limit: int, cursor: str | None, newest_first: bool = True) -> Page:
    """One page of `queryset` ordered by (created_at, id); one query."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArguments(f"limit must be between 1 and {MAX_LIMIT}")
    queryset = queryset.order_by("-created_at", "-id") if newest_first else queryset.order_by("created_at", "id")
    if cursor:
        created, raw_pk = decode_cursor(cursor)
        try:
            pk = queryset.model._meta.pk.to_python(raw_pk)
        except ValidationError as exc:
            raise InvalidArguments("cursor is not valid: pass next_cursor from a previous page") from exc
        if newest_first:
            queryset = queryset.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk))
        else:
            queryset = queryset.filter(Q(created_at__gt=created) | Q(created_at=created, id__gt=pk))
    rows = list(queryset[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    # Every paginated model has created_at (keyset order is (created_at, id)).
    next_cursor = encode_cursor(getattr(rows[-1], "created_at"), rows[-1].pk) if has_more and rows else None  # noqa: B009
    return Page(items=rows, next_cursor=next_cursor)
