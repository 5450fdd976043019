"""Writes for projects: one transaction and one audit row each."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing.plans import Resource
from billing.services import usage_consume, usage_release
from orchestra.actor import Actor
from orchestra.errors import InvalidArguments
from orchestra.slugs import create_with_unique_slug
from tools.activity.services import activity_record
from tools.projects.models import Project, ProjectStatus

MAX_SETTINGS_BYTES = 64 * 1024


def _check_settings(settings: dict[str, Any]) -> None:
    if len(json.dumps(settings)) > MAX_SETTINGS_BYTES:
        raise InvalidArguments(f"settings must be at most {MAX_SETTINGS_BYTES // 1024} KiB of JSON")


def merge_settings(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `changes` into `current`; a key set to null is removed."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged


@transaction.atomic
def project_create(
    *, actor: Actor, name: str, description: str = "", settings: dict[str, Any] | None = None
) -> Project:
    name = name.strip()
    if not name:
        raise InvalidArguments("name must not be empty")
    settings = settings or {}
    _check_settings(settings)
    project = create_with_unique_slug(
        Project,
        slug_from=name,
        name=name,
        description=description,
        settings=settings,
        created_by_id=actor.user_id,
    )
    activity_record(actor=actor, type="project.created", target=project, project_id=project.pk, description=name)
    usage_consume(organization=project.organization_id, resource=Resource.PROJECTS)  # the last lock
    return project


@transaction.atomic
def project_update(
    *,
    actor: Actor,
    project: Project,
    name: str | None = None,
    description: str | None = None,
    settings: dict[str, Any] | None = None,
    replace_settings: bool = False,
    status: str | None = None,
) -> Project:
    changed: list[str] = []
    if name is not None:
        if not name.strip():
            raise InvalidArguments("name must not be empty")
        project.name = name.strip()
        changed.append("name")
    if description is not None:
        project.description = description
        changed.append("description")
    if settings is not None:
        new_settings = settings if replace_settings else merge_settings(project.settings, settings)
        _check_settings(new_settings)
        project.settings = new_settings
        changed.append("settings")
    if status is not None:
        # The row's status as it is now, locked: two archivals at once give the plan's
        # slot back once (lock order: this row, then the counter).
        project.status = Project.objects.select_for_update().values_list("status", flat=True).get(pk=project.pk)
    if status is not None and status != project.status:
        project.status = status
        project.archived_at = timezone.now() if status == ProjectStatus.ARCHIVED else None
        changed += ["status", "archived_at"]
    if not changed:
        raise InvalidArguments("nothing to update: pass at least one of name, description, settings, status")
    project.save(update_fields=[*changed, "updated_at"])
    kind = {"archived": "project.archived", "active": "project.restored"}.get(status or "", "project.updated")
    activity_record(
        actor=actor, type=kind, target=project, project_id=project.pk, metadata={"fields": sorted(set(changed))}
    )
    # Only active projects count against the plan: archiving gives the slot back,
    # bringing one back takes it again (refused above the limit). The counter last.
    if kind == "project.archived":
        usage_release(organization=project.organization_id, resource=Resource.PROJECTS)
    elif kind == "project.restored":
        usage_consume(organization=project.organization_id, resource=Resource.PROJECTS)
    return project


def project_archive(*, actor: Actor, project: Project) -> Project:
    if project.status == ProjectStatus.ARCHIVED:
        return project
    return project_update(actor=actor, project=project, status=ProjectStatus.ARCHIVED)
