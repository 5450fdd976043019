"""The four spec tools."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from orchestra.ids import id_or_none
from orchestra.pagination import paginate
from tools.agents.selectors import agent_get
from tools.mcp.answers import Instant
from tools.mcp.args import DEFAULT_PAGE, AgentRef, Cursor, Limit, ProjectRef
from tools.mcp.registry import ToolContext, tool
from tools.projects.selectors import project_get, project_or_default
from tools.specs import selectors, services
from tools.specs.models import MAX_CONTENT_BYTES, Spec, SpecVersion

SpecRef = Annotated[str, Field(min_length=1, max_length=100, description="Spec id or slug.")]
Title = Annotated[str, Field(max_length=200)]
Content = Annotated[str, Field(max_length=MAX_CONTENT_BYTES)]
Status = Literal["draft", "review", "approved", "archived"]


class SpecOut(TypedDict):
    id: str
    slug: str
    title: str
    status: str
    project_id: str
    version: int
    created_at: Instant
    updated_at: Instant


class SpecList(TypedDict):
    items: list[SpecOut]
    next_cursor: str | None


class VersionBrief(TypedDict):
    number: int
    author_id: str | None
    agent_id: str | None
    change_note: str
    created_at: Instant


class VersionOut(VersionBrief):
    title: str
    content: str


class SpecDetail(SpecOut):
    shown: VersionOut
    versions: list[VersionBrief]


def spec_out(spec: Spec) -> SpecOut:
    return SpecOut(
        id=str(spec.pk),
        slug=spec.slug,
        title=spec.title,
        status=spec.status,
        project_id=str(spec.project_id),
        version=spec.version,
        created_at=spec.created_at,
        updated_at=spec.updated_at,
    )


def version_brief(version: SpecVersion) -> VersionBrief:
    return VersionBrief(
        number=version.number,
        author_id=id_or_none(version.author_id),
        agent_id=id_or_none(version.agent_id),
        change_note=version.change_note,
        created_at=version.created_at,
    )


@tool(category="specs", read_only=False, creates=True)
def create_spec(
    ctx: ToolContext,
    title: Title,
    project: ProjectRef,
    content: Content | None = None,
    status: Status = "draft",
    agent: AgentRef | None = None,
) -> SpecOut:
    """Write a markdown spec (version 1)."""
    row = project_get(project)
    spec = services.spec_create(
        actor=ctx.actor,
        project=row,
        title=title,
        content=content or "",
        status=status,
        agent=agent_get(agent) if agent else None,
    )
    return spec_out(spec)


@tool(category="specs", read_only=True, idempotent=True)
def list_specs(
    ctx: ToolContext,
    project: ProjectRef | None = None,
    status: Status | None = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> SpecList:
    """List specs, of a project or of the whole organization."""
    page = paginate(selectors.spec_list(project=project_or_default(project), status=status), limit=limit, cursor=cursor)
    return SpecList(items=[spec_out(s) for s in page.items], next_cursor=page.next_cursor)


@tool(category="specs", read_only=False, idempotent=True)
def update_spec(
    ctx: ToolContext,
    spec: SpecRef,
    title: Title | None = None,
    content: Content | None = None,
    status: Status | None = None,
    change_note: Annotated[str | None, Field(max_length=500, description="Why; kept with the version.")] = None,
    agent: AgentRef | None = None,
) -> SpecOut:
    """Edit a spec; title or content changes make a new immutable version."""
    row = selectors.spec_get(spec)
    updated = services.spec_update(
        actor=ctx.actor,
        spec=row,
        title=title,
        content=content,
        status=status,
        change_note=change_note,
        agent=agent_get(agent) if agent else None,
    )
    return spec_out(updated)


@tool(category="specs", read_only=True, idempotent=True)
def get_spec(
    ctx: ToolContext,
    spec: SpecRef,
    version: Annotated[int | None, Field(ge=1, description="Default: the latest.")] = None,
) -> SpecDetail:
    """One spec with a version's content (default: latest) and the version list."""
    row = selectors.spec_get(spec)
    shown = selectors.version_get(row, version)
    return SpecDetail(
        **spec_out(row),
        shown=VersionOut(**version_brief(shown), title=shown.title, content=shown.content),
        versions=[version_brief(v) for v in selectors.versions(row)],
    )
