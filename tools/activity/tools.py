"""The three activity tools: the audit feed, and entries callers log themselves."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import Field, WithJsonSchema
from typing_extensions import TypedDict

from orchestra.pagination import paginate
from tools.activity import selectors, services
from tools.activity.selectors import ActivityOut, activity_out
from tools.agents.selectors import agent_get
from tools.mcp.answers import present
from tools.mcp.args import DEFAULT_PAGE, AgentRef, Cursor, Limit, ProjectRef, SessionRef, Since, Until
from tools.mcp.registry import ToolContext, tool
from tools.projects.selectors import project_get, project_or_default
from tools.worksessions.selectors import work_session_get

ActivityRef = Annotated[str, Field(min_length=1, max_length=64, description="Activity id.")]
TypeName = Annotated[str, Field(max_length=80)]
# Written by hand: pydantic adds `additionalProperties: true`, which says nothing here.
Metadata = Annotated[dict[str, Any], WithJsonSchema({"type": "object", "description": "JSON, 16 KiB max."})]


class Target(TypedDict):
    type: str
    id: str
    label: str | None  # name or title, if the row still exists
    exists: bool


class ActivityDetail(ActivityOut):
    metadata: NotRequired[dict[str, Any]]
    token_id: NotRequired[str]
    target: NotRequired[Target]


class ActivityList(TypedDict):
    items: list[ActivityOut]
    next_cursor: str | None


@tool(category="activity", read_only=False, creates=True)
def log_activity(
    ctx: ToolContext,
    type: Annotated[
        str,
        Field(
            max_length=80,
            description="e.g. deploy.done; not a built-in prefix (task. ...).",
        ),
    ],
    description: Annotated[str | None, Field(max_length=5000)] = None,
    metadata: Metadata | None = None,
    project: ProjectRef | None = None,
    agent: AgentRef | None = None,
    session: SessionRef | None = None,
) -> ActivityOut:
    """Log a custom activity entry."""
    entry = services.activity_log(
        actor=ctx.actor,
        type=type,
        description=description or "",
        metadata=metadata,
        # A project-restricted token's entries belong to its project, so it can see them again.
        project=project_or_default(project),
        agent=agent_get(agent) if agent else None,
        session=work_session_get(session) if session else None,
    )
    return activity_out(entry)


@tool(category="activity", read_only=True, idempotent=True)
def list_activities(
    ctx: ToolContext,
    type: TypeName | None = None,
    agent: AgentRef | None = None,
    project: ProjectRef | None = None,
    session: SessionRef | None = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> ActivityList:
    """The activity feed, newest first."""
    rows = selectors.activity_list(
        type=type,
        # A deleted agent's history stays reachable by its id.
        agent=agent_get(agent, include_deleted=True) if agent else None,
        project=project_get(project) if project else None,
        session=work_session_get(session) if session else None,
        since=since,
        until=until,
    )
    page = paginate(rows, limit=limit, cursor=cursor)
    return ActivityList(items=[activity_out(a) for a in page.items], next_cursor=page.next_cursor)


@tool(category="activity", read_only=True, idempotent=True)
def get_activity(ctx: ToolContext, activity: ActivityRef) -> ActivityDetail:
    """One activity entry with its metadata and target."""
    row = selectors.activity_get(activity)
    target = None
    if row.target_id is not None:
        exists, label = selectors.target_resolve(row.target_type, row.target_id)
        target = Target(type=row.target_type, id=str(row.target_id), label=label, exists=exists)
    return present(
        ActivityDetail,
        **activity_out(row),
        metadata=row.metadata,
        token_id=None if row.token_id is None else str(row.token_id),
        target=target,
    )
