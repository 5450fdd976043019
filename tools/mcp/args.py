"""Argument types shared by tool declarations, so every tool says the same thing
the same way (and the catalogue stays small: see tools/mcp/budget.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from orchestra.pagination import DEFAULT_LIMIT, MAX_LIMIT

ProjectRef = Annotated[str, Field(min_length=1, max_length=100, description="Project id or slug.")]
AgentRef = Annotated[str, Field(min_length=1, max_length=100, description="Agent id or slug.")]
SessionRef = Annotated[str, Field(min_length=1, max_length=64, description="Work session id.")]
Tags = Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]], Field(max_length=20)]
Since = Annotated[datetime | None, Field(description="Created at or after (ISO 8601).")]
Until = Annotated[datetime | None, Field(description="Created before (ISO 8601).")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT}).")]
Cursor = Annotated[str | None, Field(max_length=500, description="next_cursor of the previous page.")]
DEFAULT_PAGE = DEFAULT_LIMIT
