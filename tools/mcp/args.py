"""Argument types shared by tool declarations, so every tool says the same thing
the same way (and the catalogue stays small)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from orchestra.pagination import DEFAULT_LIMIT, MAX_LIMIT

ProjectRef = Annotated[str, Field(min_length=1, max_length=100, description="Project id or slug.")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT}).")]
Cursor = Annotated[str | None, Field(max_length=500, description="next_cursor of the previous page.")]
DEFAULT_PAGE = DEFAULT_LIMIT
