"""Identifiers: UUIDs for rows, slugs for humans."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.utils.text import slugify


def new_id() -> uuid.UUID:
    # UUIDv7 would sort by time; Python 3.11 has no uuid7, and keyset pagination
    # orders by (created_at, id) anyway.
    return uuid.uuid4()


def slug_of(name: str) -> str:
    """The slug of a name: ASCII when that keeps every letter and digit ("Café" is
    `cafe`), else Unicode letters kept ("東京 team" is `東京-team`, not `item`)."""
    ascii_slug, unicode_slug = slugify(name), slugify(name, allow_unicode=True)
    kept = sum(c.isalnum() for c in ascii_slug)
    return ascii_slug if kept == sum(c.isalnum() for c in unicode_slug) else unicode_slug


def unique_slug(name: str, exists: Callable[[str], bool], *, max_length: int = 60) -> str:
    """A slug derived from `name`, suffixed -2, -3, ... until `exists` says it is free."""
    base = slug_of(name)[:max_length].strip("-") or "item"
    slug, n = base, 1
    while exists(slug):
        n += 1
        suffix = f"-{n}"
        slug = f"{base[: max_length - len(suffix)]}{suffix}"
    return slug


def id_or_none(value: object) -> str | None:
    """An id as tool answers show it: a string, or None for a key that is not set."""
    return None if value is None else str(value)


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        return None
