"""Argument types shared by tool declarations, so every tool says the same thing
the same way (and the catalogue stays small: see tools/mcp/budget.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from orchestra.pagination import DEFAULT_LIMIT, MAX_LIMIT

ProjectRef = Annotated[str, Field(min_length=1, max_length=100, description="Project id or slug.")]
AgentRef = Annotated[str, Field(min_length=1, max_length=100, description="Agent id or slug.")]
SessionRef = Annotated[str, Field(min_length=1, max_length=64, description="Work session id.")]
Tags = Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]], Field(max_length=20)]


def _in_utc(value: datetime) -> datetime:
    """Every instant is stored in UTC; PostgreSQL refuses offsets beyond ±15:59, which
    ISO 8601 allows, so a filter converts before it reaches the database. A time
    without an offset means UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp out of range") from None


Timestamp = Annotated[datetime, AfterValidator(_in_utc)]
Since = Annotated[Timestamp | None, Field(description="Created at or after (ISO 8601).")]
Until = Annotated[Timestamp | None, Field(description="Created before (ISO 8601).")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT}).")]
Cursor = Annotated[str | None, Field(max_length=500, description="next_cursor of the previous page.")]
DEFAULT_PAGE = DEFAULT_LIMIT
