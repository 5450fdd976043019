"""Reads for notes, and the resolution of their row links."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.postgres.search import SearchQuery
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.functions import Left

from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from orchestra.tenancy import TenantModel
from tools.notes.models import Note

EXCERPT_CHARS = 280

# What a row link may point at. The model is looked up when a note is read, so a
# domain whose app has no such model (yet) resolves as `exists: false`.
LINK_MODELS: dict[str, tuple[str, str]] = {
    "project": ("projects", "Project"),
    "task": ("tasks", "Task"),
    "decision": ("decisions", "Decision"),
    "spec": ("specs", "Spec"),
    "feature": ("features", "Feature"),
    "note": ("notes", "Note"),
    "memory": ("memory", "Memory"),
    "agent": ("agents", "Agent"),
    "session": ("worksessions", "WorkSession"),
}
LABEL_FIELDS = ("name", "title", "content")
LABEL_CHARS = 80


def note_get(ref: str, *, argument: str = "note") -> Note:
    """A live note of the organization in scope. Soft-deleted notes, and for a
    project-restricted token other projects' notes, answer exactly like missing ones."""
    uid = parse_uuid(ref)
    rows = Note.objects.filter(pk=uid, deleted_at__isnull=True) if uid is not None else Note.objects.none()
    note = rows.defer("search_vector").first()
    if note is None:
        raise not_found(argument, ref)
    return note


def note_list(
    *,
    tag: str | None = None,
    search: str | None = None,
    project: Any = None,
    since: datetime | None = None,
    until: datetime | None = None,
    updated_since: datetime | None = None,
    updated_until: datetime | None = None,
) -> QuerySet[Note]:
    """Live notes matching every filter given. Rows carry an `excerpt` instead of the
    content (up to 64 KiB each) and never load the search vector."""
    rows = Note.objects.filter(deleted_at__isnull=True)
    if project is not None:
        rows = rows.filter(project=project)
    if tag:
        rows = rows.filter(tags__contains=[tag.strip().lower()])
    if search:
        rows = rows.filter(search_vector=SearchQuery(search, search_type="websearch", config="english"))
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lt=until)
    if updated_since:
        rows = rows.filter(updated_at__gte=updated_since)
    if updated_until:
        rows = rows.filter(updated_at__lt=updated_until)
    return rows.defer("content", "search_vector").annotate(excerpt=Left("content", EXCERPT_CHARS))


def _link_model(kind: str) -> type[models.Model] | None:
    if kind not in LINK_MODELS:
        return None
    try:
        model = apps.get_model(*LINK_MODELS[kind])
    except LookupError:
        return None
    # Only tenant rows can be resolved: their default manager keeps to the organization.
    return model if issubclass(model, TenantModel) else None


def _field_names(model: type[models.Model]) -> set[str]:
    return {f.name for f in model._meta.get_fields()}


def _resolve_kind(kind: str, ids: set[str]) -> dict[str, str]:
    """{reference as given: label} for the references of one type that exist in the
    organization (and project scope) in scope, in one query."""
    model = _link_model(kind)
    if model is None:
        return {}
    fields = _field_names(model)
    uuids = {ref: uid for ref in ids if (uid := parse_uuid(ref)) is not None}
    lookup = Q(pk__in=set(uuids.values()))
    slugs = ids - set(uuids)
    if slugs and "slug" in fields:
        lookup |= Q(slug__in=slugs)
    rows = model.objects.filter(lookup)  # type: ignore[attr-defined]
    if "deleted_at" in fields:
        rows = rows.filter(deleted_at__isnull=True)
    label_field = next(f for f in LABEL_FIELDS if f in fields)
    found: dict[str, str] = {}
    for row in rows.only("pk", label_field, *(["slug"] if "slug" in fields else [])):
        label = str(getattr(row, label_field))[:LABEL_CHARS]
        found[str(row.pk)] = label
        if "slug" in fields:
            found[row.slug] = label
    # References by UUID are matched whatever their spelling (case, braces).
    return {ref: found[str(uid)] for ref, uid in uuids.items() if str(uid) in found} | {
        ref: found[ref] for ref in slugs if ref in found
    }


def resolve_links(links: list[Any]) -> list[Any]:
    """URL links as given; row links as {type, id, label, exists}. One query per
    referenced type, whatever the number of links. A missing row, or another
    organization's (or, for a project-restricted token, another project's), resolves as
    exists=false with no label: the managers' scopes decide what exists."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for link in links:
        if isinstance(link, dict):
            wanted[link["type"]].add(link["id"])
    found = {kind: _resolve_kind(kind, ids) for kind, ids in wanted.items()}
    resolved: list[Any] = []
    for link in links:
        if isinstance(link, dict):
            label = found[link["type"]].get(link["id"])
            resolved.append({"type": link["type"], "id": link["id"], "label": label, "exists": label is not None})
        else:
            resolved.append(link)
    return resolved
