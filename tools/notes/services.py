"""Writes for notes: one transaction and one audit row each."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from orchestra.actor import Actor
from orchestra.errors import InvalidArguments
from orchestra.tenancy import current_organization_id
from tools.activity.services import activity_record
from tools.notes.models import MAX_CONTENT_BYTES, Note
from tools.notes.selectors import LINK_MODELS

MAX_LINKS = 20
MAX_URL_LENGTH = 2000


def clean_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidArguments("title must not be empty")
    return title


def check_content(content: str) -> str:
    if len(content.encode()) > MAX_CONTENT_BYTES:
        raise InvalidArguments(f"content must be at most {MAX_CONTENT_BYTES // 1024} KiB")
    return content


def clean_tags(tags: list[str]) -> list[str]:
    return sorted({t.strip().lower() for t in tags if t.strip()})


def clean_links(links: list[Any]) -> list[Any]:
    """Each link is an http(s) URL with a host, or {"type": <known type>, "id": ...}.
    Duplicates are dropped, order kept. Row links are not checked for existence here:
    get_note resolves them (a row may be deleted after the note links to it)."""
    cleaned: list[Any] = []
    for n, link in enumerate(links):
        if isinstance(link, str):
            url = link.strip()
            parts = urlsplit(url)
            if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > MAX_URL_LENGTH:
                raise InvalidArguments(f"links[{n}]: a URL link must be an absolute http or https URL")
            item: Any = url
        elif isinstance(link, dict) and link.get("type") in LINK_MODELS and isinstance(link.get("id"), str):
            ref = link["id"].strip()
            if not ref:
                raise InvalidArguments(f"links[{n}]: id must not be empty")
            item = {"type": link["type"], "id": ref}
        else:
            raise InvalidArguments(f"links[{n}]: give a URL or {{type, id}} with type one of {', '.join(LINK_MODELS)}")
        if item not in cleaned:
            cleaned.append(item)
    if len(cleaned) > MAX_LINKS:
        raise InvalidArguments(f"at most {MAX_LINKS} links")
    return cleaned


@transaction.atomic
def note_create(
    *,
    actor: Actor,
    title: str,
    content: str = "",
    tags: list[str] | None = None,
    links: list[Any] | None = None,
    project: Any = None,
) -> Note:
    note = Note(
        organization_id=current_organization_id(),
        title=clean_title(title),
        content=check_content(content),
        tags=clean_tags(tags or []),
        links=clean_links(links or []),
        project=project,
        author_id=actor.user_id,
    )
    note.save(force_insert=True)
    activity_record(
        actor=actor, type="note.created", target=note, project_id=note.project_id, description=note.title[:120]
    )
    return note


@transaction.atomic
def note_update(
    *,
    actor: Actor,
    note: Note,
    title: str | None = None,
    content: str | None = None,
    tags: list[str] | None = None,
    links: list[Any] | None = None,
) -> Note:
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = clean_title(title)
    if content is not None:
        changes["content"] = check_content(content)
    if tags is not None:
        changes["tags"] = clean_tags(tags)
    if links is not None:
        changes["links"] = clean_links(links)
    if not changes:
        raise InvalidArguments("nothing to update: pass at least one of title, content, tags, links")
    for field, value in changes.items():
        setattr(note, field, value)
    note.save(update_fields=[*changes, "updated_at"])
    activity_record(
        actor=actor,
        type="note.updated",
        target=note,
        project_id=note.project_id,
        metadata={"fields": sorted(changes)},
    )
    return note


@transaction.atomic
def note_delete(*, actor: Actor, note: Note) -> Note:
    note.deleted_at = timezone.now()
    note.deleted_by_id = actor.user_id
    note.save(update_fields=["deleted_at", "deleted_by"])
    activity_record(actor=actor, type="note.deleted", target=note, project_id=note.project_id)
    return note
