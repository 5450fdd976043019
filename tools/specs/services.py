"""Writes for specs: one transaction and one audit row each. A change of title or content
is a new version; versions are only ever inserted."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from orchestra.actor import Actor
from orchestra.errors import InvalidArguments
from orchestra.slugs import create_with_unique_slug
from tools.activity.services import activity_record
from tools.specs import selectors
from tools.specs.models import MAX_CONTENT_BYTES, Spec, SpecStatus, SpecVersion


def _clean_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidArguments("title must not be empty")
    return title


def _check_content(content: str) -> str:
    if len(content.encode()) > MAX_CONTENT_BYTES:
        raise InvalidArguments(f"content must be at most {MAX_CONTENT_BYTES // 1024} KiB")
    return content


def _version(spec: Spec, *, actor: Actor, agent_id: Any, title: str, content: str, note: str) -> SpecVersion:
    version = SpecVersion(
        organization_id=spec.organization_id,
        spec=spec,
        number=spec.version,
        title=title,
        content=content,
        change_note=note,
        author_id=actor.user_id,
        agent_id=agent_id,
    )
    version.save(force_insert=True)
    return version


@transaction.atomic
def spec_create(
    *,
    actor: Actor,
    project: Any,
    title: str,
    content: str = "",
    status: str = SpecStatus.DRAFT,
    agent: Any = None,
) -> Spec:
    title = _clean_title(title)
    content = _check_content(content)
    spec = create_with_unique_slug(
        Spec,
        slug_from=title,
        project=project,
        title=title,
        status=status,
        version=1,
        created_by_id=actor.user_id,
    )
    agent_id = getattr(agent, "pk", None)
    _version(spec, actor=actor, agent_id=agent_id, title=title, content=content, note="")
    activity_record(
        actor=actor.with_agent(agent_id),
        type="spec.created",
        target=spec,
        project_id=spec.project_id,
        description=title[:120],
        metadata={"version": 1, "status": status},
    )
    return spec


@transaction.atomic
def spec_update(
    *,
    actor: Actor,
    spec: Spec,
    title: str | None = None,
    content: str | None = None,
    status: str | None = None,
    change_note: str | None = None,
    agent: Any = None,
) -> Spec:
    """Title or content different from the latest version's make version n+1 (with
    `change_note`); a status change alone makes none. A call that changes nothing
    writes nothing."""
    if title is None and content is None and status is None:
        raise InvalidArguments("nothing to update: pass at least one of title, content, status")
    if change_note is not None and title is None and content is None:
        raise InvalidArguments("change_note describes a new version: pass it with title or content")
    new_title = _clean_title(title) if title is not None else None
    new_content = _check_content(content) if content is not None else None
    # Lock the spec so concurrent updates number their versions one after the other.
    spec = selectors.spec_get(str(spec.pk), for_update=True)
    latest = selectors.version_get(spec)
    next_title = new_title if new_title is not None else latest.title
    next_content = new_content if new_content is not None else latest.content
    new_version = next_title != latest.title or next_content != latest.content
    new_status = status if status is not None and status != spec.status else None
    if not new_version and new_status is None:
        return spec
    agent_id = getattr(agent, "pk", None)
    fields: list[str] = []
    metadata: dict[str, Any] = {}
    if new_version:
        spec.version += 1
        spec.title = next_title
        fields += ["version", "title"]
        _version(spec, actor=actor, agent_id=agent_id, title=next_title, content=next_content, note=change_note or "")
        metadata["version"] = spec.version
        metadata["changed"] = [
            name
            for name, changed in (("title", next_title != latest.title), ("content", next_content != latest.content))
            if changed
        ]
    if new_status is not None:
        metadata["status"] = {"from": spec.status, "to": new_status}
        spec.status = new_status
        fields.append("status")
    spec.save(update_fields=[*fields, "updated_at"])
    activity_record(
        actor=actor.with_agent(agent_id),
        type="spec.updated",
        target=spec,
        project_id=spec.project_id,
        description=(change_note or "")[:120],
        metadata=metadata,
    )
    return spec
