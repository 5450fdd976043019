"""The five project tools."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from orchestra.errors import PermissionDenied
from orchestra.pagination import paginate
from tools.activity.selectors import ActivityBrief, activity_brief, recent_activity
from tools.mcp.answers import Instant, excerpt, present
from tools.mcp.args import DEFAULT_PAGE, Cursor, Limit, ProjectRef
from tools.mcp.registry import ToolContext, tool
from tools.projects import selectors, services
from tools.projects.models import Project

Name = Annotated[str, Field(min_length=1, max_length=200, description="Project name.")]
Description = Annotated[str, Field(max_length=20_000, description="Markdown description.")]
Settings = Annotated[dict[str, Any], Field(description="Free-form JSON settings.")]
# How many of the latest activity entries get_project shows (list_activities has more).
RECENT_ACTIVITY = 3


class ProjectOut(TypedDict):
    """A project in full; empty fields are left out (tools.mcp.answers)."""

    id: str
    slug: str
    name: str
    description: NotRequired[str]
    settings: NotRequired[dict[str, Any]]
    status: str
    created_at: Instant
    updated_at: Instant
    archived_at: NotRequired[Instant]


class ProjectRow(TypedDict):
    """A project in a list: its name, state and the start of its description."""

    id: str
    slug: str
    name: str
    excerpt: NotRequired[str]
    status: str
    updated_at: Instant


class ProjectList(TypedDict):
    items: list[ProjectRow]
    next_cursor: str | None


class ProjectDetail(ProjectOut):
    stats: Annotated[dict[str, Any], Field(description="Counts; zeros are left out.")]
    recent_activity: Annotated[list[ActivityBrief], Field(description=f"The latest {RECENT_ACTIVITY} entries.")]


def project_out(project: Project) -> ProjectOut:
    return present(
        ProjectOut,
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


def project_row(project: Project) -> ProjectRow:
    return present(
        ProjectRow,
        id=str(project.pk),
        slug=project.slug,
        name=project.name,
        excerpt=excerpt(project.description),
        status=project.status,
        updated_at=project.updated_at,
    )


def _nonzero(counts: dict[str, Any]) -> dict[str, Any]:
    """Counts without their zeros (at every level): of seven task statuses, the five
    with nothing in them say nothing an agent needs."""
    out: dict[str, Any] = {}
    for key, value in counts.items():
        kept = _nonzero(value) if isinstance(value, dict) else value
        if kept:
            out[key] = kept
    return out


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
    return ProjectList(items=[project_row(p) for p in page.items], next_cursor=page.next_cursor)


@tool(category="projects", read_only=True, idempotent=True)
def get_project(ctx: ToolContext, project: ProjectRef) -> ProjectDetail:
    """One project with its stats and latest activity."""
    row = selectors.project_get(project)
    return ProjectDetail(
        **project_out(row),
        stats=_nonzero(selectors.project_stats(row)),
        recent_activity=[
            activity_brief(a, with_target=a.target_id != row.pk)
            for a in recent_activity(project_id=row.pk, limit=RECENT_ACTIVITY)
        ],
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
