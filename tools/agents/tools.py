"""The five agent tools."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from orchestra.errors import PermissionDenied
from orchestra.ids import id_or_none
from orchestra.pagination import paginate
from tools.activity.selectors import ActivityBrief, activity_brief
from tools.agents import selectors, services
from tools.agents.models import Agent
from tools.mcp.answers import Instant, present
from tools.mcp.args import DEFAULT_PAGE, AgentRef, Cursor, Limit, ProjectRef
from tools.mcp.registry import ToolContext, tool
from tools.projects.selectors import project_get, project_or_default

# Blank names are refused by the service (one message for "" and "  ").
Name = Annotated[str, Field(max_length=120)]
Role = Annotated[str, Field(max_length=120)]
Skills = Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=50)]
MemoryScopeName = Literal["private", "project", "organization"]
Description = Annotated[str, Field(max_length=20_000)]
ModelName = Annotated[str, Field(max_length=120, description="The model it runs on.")]


class AgentOut(TypedDict):
    """Empty fields are left out (tools.mcp.answers)."""

    id: str
    slug: str
    name: str
    role: NotRequired[str]
    description: NotRequired[str]
    skills: NotRequired[list[str]]
    memory_scope: str
    model: NotRequired[str]
    project_id: NotRequired[str]
    status: str
    created_at: Instant
    updated_at: Instant


class AgentList(TypedDict):
    items: list[AgentOut]
    next_cursor: str | None


class MemoryBrief(TypedDict):
    id: str
    content: str  # the first 200 characters
    created_at: Instant


class MemoryStats(TypedDict):
    count: int
    archived: int
    newest: list[MemoryBrief]


class AgentDetail(AgentOut):
    memory: MemoryStats
    recent_activity: list[ActivityBrief]


class AgentDeleted(TypedDict):
    agent: AgentOut
    deleted_at: Instant
    memories_archived: int
    memories_deleted: int


def agent_out(agent: Agent) -> AgentOut:
    return present(
        AgentOut,
        id=str(agent.pk),
        slug=agent.slug,
        name=agent.name,
        role=agent.role,
        description=agent.description,
        skills=agent.skills,
        memory_scope=agent.memory_scope,
        model=agent.model,
        project_id=id_or_none(agent.project_id),
        status=agent.status,
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )


def _writable_agent(ctx: ToolContext, ref: str) -> Agent:
    agent = selectors.agent_get(ref)
    if ctx.identity.project_id is not None and agent.project_id is None:
        raise PermissionDenied("this token is restricted to one project and cannot change organization-wide agents")
    return agent


@tool(category="agents", read_only=False, creates=True)
def create_agent(
    ctx: ToolContext,
    name: Name,
    role: Role | None = None,
    skills: Skills | None = None,
    memory_scope: Annotated[
        MemoryScopeName, Field(description="private: its entries plus project and organization ones.")
    ] = "private",
    project: ProjectRef | None = None,
    description: Description | None = None,
    model: ModelName | None = None,
) -> AgentOut:
    """Create an agent; memory_scope sets what memory searches naming it cover."""
    agent = services.agent_create(
        actor=ctx.actor,
        name=name,
        role=role or "",
        skills=skills,
        memory_scope=memory_scope,
        # A project-restricted token's agents belong to its project, so it can change them again.
        project=project_or_default(project),
        description=description or "",
        model=model or "",
    )
    return agent_out(agent)


@tool(category="agents", read_only=True, idempotent=True)
def list_agents(
    ctx: ToolContext,
    project: ProjectRef | None = None,
    status: Literal["active", "archived"] | None = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> AgentList:
    """List agents, newest first."""
    rows = selectors.agent_list(project=project_get(project) if project else None, status=status)
    page = paginate(rows, limit=limit, cursor=cursor)
    return AgentList(items=[agent_out(a) for a in page.items], next_cursor=page.next_cursor)


@tool(category="agents", read_only=True, idempotent=True)
def get_agent(ctx: ToolContext, agent: AgentRef) -> AgentDetail:
    """One agent with its memory stats and recent activity."""
    row = selectors.agent_get(agent)
    stats = selectors.agent_memory_stats(row)
    return AgentDetail(
        **agent_out(row),
        memory=MemoryStats(
            count=stats.count,
            archived=stats.archived,
            newest=[
                MemoryBrief(id=str(m["id"]), content=m["excerpt"], created_at=m["created_at"]) for m in stats.newest
            ],
        ),
        recent_activity=[activity_brief(a) for a in selectors.agent_activity(row)],
    )


@tool(category="agents", read_only=False, idempotent=True)
def update_agent(
    ctx: ToolContext,
    agent: AgentRef,
    name: Name | None = None,
    role: Role | None = None,
    skills: Skills | None = None,
    memory_scope: MemoryScopeName | None = None,
    description: Description | None = None,
    status: Literal["active", "archived"] | None = None,
) -> AgentOut:
    """Change an agent; its slug stays."""
    row = _writable_agent(ctx, agent)
    return agent_out(
        services.agent_update(
            actor=ctx.actor,
            agent=row,
            name=name,
            role=role,
            skills=skills,
            memory_scope=memory_scope,
            description=description,
            status=status,
        )
    )


@tool(category="agents", read_only=False, destructive=True, idempotent=True)
def delete_agent(
    ctx: ToolContext,
    agent: AgentRef,
    archive_memory: Annotated[bool, Field(description="false deletes its memories.")] = True,
) -> AgentDeleted:
    """Soft-delete an agent (history kept); its memories are archived, or deleted if archive_memory is false."""
    row = _writable_agent(ctx, agent)
    done = services.agent_delete(actor=ctx.actor, agent=row, archive_memory=archive_memory)
    return AgentDeleted(
        agent=agent_out(done.agent),
        deleted_at=done.deleted_at,
        memories_archived=done.memories_archived,
        memories_deleted=done.memories_deleted,
    )
