"""Session tools: get_context (the first call an agent makes) and work sessions."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from billing.selectors import current_usage, plan_summary, usage_is_cached
from memory.models import DEFAULT_IMPORTANCE
from orchestra.ids import id_or_none
from orchestra.pagination import paginate
from tools.activity.selectors import ActivityBrief, activity_brief
from tools.agents.selectors import agent_get
from tools.mcp.answers import Instant, present
from tools.mcp.args import DEFAULT_PAGE, AgentRef, Cursor, Limit, ProjectRef, SessionRef
from tools.mcp.registry import ToolContext, tool
from tools.projects.models import Project
from tools.projects.selectors import project_or_default
from tools.worksessions import selectors, services
from tools.worksessions.models import WorkSession


class ContextOut(TypedDict):
    """Empty fields are left out: a live organization says no `sandbox`, an unrestricted
    token no `project`, a plan without limits no `limits`, and no warnings no key."""

    organization: dict[str, Any]
    user: dict[str, Any]
    token: dict[str, Any]
    plan: Annotated[dict[str, Any], Field(description="limits names the limited resources; others are unlimited.")]
    usage: dict[str, int]
    warnings: NotRequired[list[str]]


def _context_in_memory(identity: Any) -> bool:
    """get_context needs no database when its usage is cached (the plan comes with the
    token's identity) and no project
    restriction must be looked up: the MCP fast path may answer it on the event loop."""
    return identity.project_id is None and usage_is_cached(identity.organization.pk)


@tool(category="sessions", read_only=True, idempotent=True, answerable_from_memory=_context_in_memory)
def get_context(ctx: ToolContext) -> ContextOut:
    """Who is calling: organization, user, token mode and scopes, plan limits, usage and warnings. Call it first."""
    identity = ctx.identity
    org = identity.organization
    restricted = None
    if identity.project_id is not None:
        project = Project.objects.filter(pk=identity.project_id).values("id", "slug", "name").first()
        restricted = {k: str(v) for k, v in project.items()} if project else None
    organization: dict[str, Any] = {"id": str(org.pk), "name": org.name, "slug": org.slug}
    if org.is_sandbox:
        organization.update(sandbox=True, live_organization_id=str(identity.live_organization.pk))
    token: dict[str, Any] = {"id": str(identity.token_id), "mode": identity.mode, "scopes": list(identity.scopes)}
    if not identity.can_write:
        token["read_only"] = True
    if restricted:
        token["project"] = restricted
    return ContextOut(
        organization=organization,
        user={"id": str(identity.user_id), "email": identity.user_email, "role": identity.role},
        token=token,
        # The plan as the token's identity carries it (at most AUTH_CACHE_SECONDS old);
        # usage is this organization's own (a sandbox is counted on its own).
        **plan_summary(identity.plan, current_usage(org.pk, stale_ok=ctx.memory_only)),  # type: ignore[typeddict-item]
    )


Title = Annotated[str, Field(min_length=1, max_length=200)]
Goals = Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=20)]


class SessionBrief(TypedDict):
    """A session in a list; empty fields are left out (tools.mcp.answers)."""

    id: str
    title: str
    goals: NotRequired[list[str]]
    status: str
    agent_id: NotRequired[str]
    project_id: NotRequired[str]
    user_id: NotRequired[str]
    created_at: Instant
    ended_at: NotRequired[Instant]


class SessionOut(SessionBrief):
    context: NotRequired[str]
    state: NotRequired[dict[str, Any]]
    summary: NotRequired[str]
    updated_at: Instant


class SessionList(TypedDict):
    items: list[SessionBrief]
    next_cursor: str | None


class MemoryBrief(TypedDict):
    id: str
    content: str
    tags: NotRequired[list[str]]
    importance: NotRequired[Annotated[int, Field(description="1-10; absent: 5, the default.")]]
    created_at: Instant


class ItemBrief(TypedDict):
    """A decision, as resume_session lists them (newest first)."""

    id: str
    title: str
    status: str


class TaskBrief(ItemBrief):
    """An open task, as resume_session lists them (most urgent first)."""

    priority: str


class Resumed(TypedDict):
    session: SessionOut
    memories: list[MemoryBrief]
    activity: list[ActivityBrief]
    open_tasks: list[TaskBrief]
    decisions: list[ItemBrief]


class Ended(TypedDict):
    session: SessionOut
    memory_id: str


def _session_fields(session: WorkSession) -> dict[str, Any]:
    return {
        "id": str(session.pk),
        "title": session.title,
        "goals": session.goals,
        "status": session.status,
        "agent_id": id_or_none(session.agent_id),
        "project_id": id_or_none(session.project_id),
        "user_id": id_or_none(session.user_id),
        "created_at": session.created_at,
        "ended_at": session.ended_at,
    }


def session_brief(session: WorkSession) -> SessionBrief:
    return present(SessionBrief, **_session_fields(session))


def session_out(session: WorkSession) -> SessionOut:
    return present(
        SessionOut,
        **_session_fields(session),
        context=session.context,
        state=session.state,
        summary=session.summary,
        updated_at=session.updated_at,
    )


@tool(category="sessions", read_only=False, creates=True)
def create_session(
    ctx: ToolContext,
    title: Title,
    goals: Goals | None = None,
    context: Annotated[str | None, Field(max_length=20_000)] = None,
    agent: AgentRef | None = None,
    project: ProjectRef | None = None,
) -> SessionOut:
    """Start a work session (resumable)."""
    agent_row = agent_get(agent) if agent else None
    # A project-restricted token's sessions belong to its project, so it can see them again.
    project_row = project_or_default(project)
    session = services.work_session_create(
        actor=ctx.actor, title=title, goals=goals, context=context or "", agent=agent_row, project=project_row
    )
    return session_out(session)


@tool(category="sessions", read_only=True, idempotent=True)
def resume_session(ctx: ToolContext, session: SessionRef) -> Resumed:
    """Restore a session's full context in one answer."""
    row = selectors.work_session_get(session)
    return Resumed(
        session=session_out(row),
        memories=[
            present(
                MemoryBrief,
                id=str(m.pk),
                content=m.content,
                tags=m.tags,
                importance=None if m.importance == DEFAULT_IMPORTANCE else m.importance,
                created_at=m.created_at,
            )
            for m in selectors.session_memories(row)
        ],
        activity=[activity_brief(a, with_target=a.target_id != row.pk) for a in selectors.session_activity(row)],
        open_tasks=[
            TaskBrief(id=str(t.pk), title=t.title, status=t.status, priority=t.priority)
            for t in selectors.project_open_tasks(row.project_id)
        ],
        decisions=[
            ItemBrief(id=str(d.pk), title=d.title, status=d.status)
            for d in selectors.project_latest_decisions(row.project_id)
        ],
    )


@tool(category="sessions", read_only=False)
def end_session(
    ctx: ToolContext,
    session: SessionRef,
    summary: Annotated[str, Field(min_length=1, max_length=15_000)],
    state: Annotated[dict[str, Any] | None, Field(description="JSON, 32 KiB max.")] = None,
) -> Ended:
    """End a session, saving summary and state as a session memory."""
    row = selectors.work_session_get(session)
    ended, memory = services.work_session_end(actor=ctx.actor, session=row, summary=summary, state=state)
    return Ended(session=session_out(ended), memory_id=str(memory.pk))


@tool(category="sessions", read_only=True, idempotent=True)
def list_sessions(
    ctx: ToolContext,
    agent: AgentRef | None = None,
    status: Literal["active", "ended"] | None = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> SessionList:
    """List your sessions or an agent's."""
    rows = selectors.work_session_list(
        user_id=ctx.identity.user_id,
        agent=agent_get(agent) if agent else None,
        status=status,
    )
    page = paginate(rows, limit=limit, cursor=cursor)
    return SessionList(items=[session_brief(s) for s in page.items], next_cursor=page.next_cursor)
