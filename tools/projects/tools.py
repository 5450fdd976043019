"""The five project tools."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict

from orchestra.errors import PermissionDenied
from orchestra.pagination import paginate
from tools.activity.selectors import ActivityOut, activity_out, recent_activity
from tools.mcp.args import DEFAULT_PAGE, Cursor, Limit, ProjectRef
from tools.mcp.registry import ToolContext, tool
from tools.projects import selectors, services
from tools.projects.models import Project

Name = Annotated[str, Field(min_length=1, max_length=200, description="Project name.")]
Description = Annotated[str, Field(max_length=20_000, description="Markdown description.")]
Settings = Annotated[dict[str, Any], Field(description="Free-form JSON settings.")]


class ProjectOut(TypedDict):
    id: str
    slug: str
    name: str
    description: str
    settings: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class ProjectList(TypedDict):
    items: list[ProjectOut]
    next_cursor: str | None


class ProjectDetail(ProjectOut):
    stats: dict[str, Any]
    recent_activity: list[ActivityOut]


def project_out(project: Project) -> ProjectOut:
    return ProjectOut(
        id=str(project.pk),
        slug=project.slug,
        name=project.name,
        description=project.description,
        settings=project.settings,
        status=project.status,
        created_at=project.created_at,
        updated_at=project.updated_at,
        archived_at=project.archived_at,
    )


@tool(category="projects", read_only=False, creates=True)
def create_project(
    ctx: ToolContext, name: Name, description: Description = "", settings: Settings | None = None
) -> ProjectOut:
    """Create a project; its slug is derived from the name and unique in the organization."""
    if ctx.identity.project_id is not None:
        raise PermissionDenied("this token is restricted to one project and cannot create projects")
    return project_out(services.project_create(actor=ctx.actor, name=name, description=description, settings=settings))


@tool(category="projects", read_only=True, idempotent=True)
def list_projects(
    ctx: ToolContext,
    status: Literal["active", "archived", "all"] = "active",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> ProjectList:
    """List projects, newest first (active ones unless status says otherwise)."""
    page = paginate(selectors.project_list(status=status), limit=limit, cursor=cursor)
    return ProjectList(items=[project_out(p) for p in page.items], next_cursor=page.next_cursor)


@tool(category="projects", read_only=True, idempotent=True)
def get_project(ctx: ToolContext, project: ProjectRef) -> ProjectDetail:
    """One project with its stats and latest activity."""
    row = selectors.project_get(project)
    return ProjectDetail(
        **project_out(row),
        stats=selectors.project_stats(row),
        recent_activity=[activity_out(a) for a in recent_activity(project_id=row.pk, limit=10)],
    )


@tool(category="projects", read_only=False, idempotent=True)
def update_project(
    ctx: ToolContext,
    project: ProjectRef,
    name: Name | None = None,
    description: Description | None = None,
    settings: Annotated[
        dict[str, Any] | None, Field(description="Merged into the current settings; null values remove keys.")
    ] = None,
    replace_settings: Annotated[bool, Field(description="Replace settings instead of merging.")] = False,
    status: Annotated[
        Literal["active", "archived"] | None, Field(description="active restores an archived project.")
    ] = None,
) -> ProjectOut:
    """Change a project's name, description, settings or status."""
    row = selectors.project_get(project)
    return project_out(
        services.project_update(
            actor=ctx.actor,
            project=row,
            name=name,
            description=description,
            settings=settings,
            replace_settings=replace_settings,
            status=status,
        )
    )


@tool(category="projects", read_only=False, idempotent=True)
def archive_project(ctx: ToolContext, project: ProjectRef) -> ProjectOut:
    """Archive a project: hidden from the active list, every row kept; update_project restores it."""
    row = selectors.project_get(project)
    return project_out(services.project_archive(actor=ctx.actor, project=row))
