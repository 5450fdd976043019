"""Reads for projects."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from orchestra.db import unique_row
from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from orchestra.tenancy import current_project_id
from tools.projects.models import Project, ProjectStatus, ProjectTally, TallyKind


def project_list(*, status: str = "active") -> QuerySet[Project]:
    projects = Project.objects.all()
    if status != "all":
        projects = projects.filter(status=status)
    return projects


def project_get(ref: str, *, argument: str = "project") -> Project:
    """A project of the organization in scope by id or slug. A token restricted to one
    project sees no other (the manager's project scope): they answer like missing ones."""
    uid = parse_uuid(ref)
    lookup = Q(pk=uid) if uid is not None else Q(slug=ref)
    project = unique_row(Project.objects.filter(lookup))
    if project is None:
        raise not_found(argument, ref)
    return project


def project_or_default(ref: str | None, *, argument: str = "project") -> Project | None:
    """The project named by `ref`; when none is named, the project a restricted caller
    is confined to (its rows belong there), else None."""
    if ref is not None:
        return project_get(ref, argument=argument)
    restricted = current_project_id()
    return None if restricted is None else project_get(str(restricted), argument=argument)


def tallies(project: Any, kind: str) -> dict[str, int]:
    """A project's (a Project or its id) counts of `kind` by bucket, as the database
    keeps them (ProjectTally): one query of a few rows, whatever the project's size. A
    bucket with nothing in it is absent."""
    rows = ProjectTally.objects.filter(project_id=getattr(project, "pk", project), kind=kind)
    return dict(rows.values_list("bucket", "n"))


def project_stats(project: Project) -> dict[str, Any]:
    """Counts shown by get_project: one query per related table, whatever the project's
    size. Tasks and memories, the tables that grow to hundreds of thousands of rows, come
    from the tallies the database keeps (ProjectTally: one query, a few rows); the others
    are aggregates over an (organization, project, ...) index."""
    from tools.agents.models import Agent
    from tools.decisions.selectors import decision_counts_by_status
    from tools.features.selectors import features_by_gate
    from tools.specs.selectors import specs_by_status
    from tools.tasks.selectors import task_counts_by_status
    from tools.worksessions.models import WorkSession

    agents = Agent.objects.filter(project=project, deleted_at__isnull=True).count()
    sessions = WorkSession.objects.filter(project=project).aggregate(
        total=Count("id"), active=Count("id", filter=Q(status="active"))
    )
    memories = tallies(project, TallyKind.MEMORIES)
    return {
        "agents": agents,
        "sessions": {"total": sessions["total"], "active": sessions["active"]},
        "tasks": task_counts_by_status(project),
        "memories": {"total": sum(memories.values()), "archived": memories.get("archived", 0)},
        "decisions": decision_counts_by_status(project),
        "features": features_by_gate(project),
        "specs": specs_by_status(project),
    }


def is_archived(project: Project) -> bool:
    return project.status == ProjectStatus.ARCHIVED
