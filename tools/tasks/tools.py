"""The seven task tools."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, NotRequired, cast, get_args

from pydantic import Field, WithJsonSchema
from typing_extensions import TypedDict

from orchestra.errors import InvalidArguments
from orchestra.ids import id_or_none
from orchestra.pagination import paginate
from tools.activity.selectors import ActivityBrief, activity_brief
from tools.agents.selectors import agent_get
from tools.mcp.answers import Instant, present
from tools.mcp.args import DEFAULT_PAGE, AgentRef, Cursor, Limit, ProjectRef
from tools.mcp.registry import ToolContext, tool
from tools.projects.selectors import project_get, project_or_default
from tools.tasks import selectors, services
from tools.tasks.models import Task
from tools.tasks.selectors import Assignee

StatusName = Literal["backlog", "todo", "in_progress", "blocked", "in_review", "done", "cancelled"]
STATUSES = list(get_args(StatusName))
# An enum says its type: "type" would only cost bytes in every listing.
Status = Annotated[StatusName, WithJsonSchema({"enum": STATUSES})]
# The schema shows the list form only (one schema of the enum, not two); a bare status
# is accepted too.
Statuses = Annotated[
    StatusName | Annotated[list[StatusName], Field(max_length=len(STATUSES))],
    WithJsonSchema({"type": "array", "items": {"enum": STATUSES}}),
]
PriorityName = Literal["critical", "high", "medium", "low"]
Priority = Annotated[PriorityName, WithJsonSchema({"enum": list(get_args(PriorityName))})]
# Tasks are addressed by UUID only; `format: uuid` says so (and that it is a string)
# without a description.
TaskRef = Annotated[uuid.UUID, WithJsonSchema({"format": "uuid", "description": "Task id."})]
AssigneeRef = Annotated[str, Field(max_length=254, description="Agent id/slug, member email/id.")]
# Blank titles are refused by the service (after trimming), so no minLength in the schema.
Title = Annotated[str, Field(max_length=300)]
Description = Annotated[str, Field(max_length=20_000)]
BlockedBy = Annotated[
    list[uuid.UUID],
    Field(max_length=services.MAX_BLOCKERS),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"format": "uuid"},
            "maxItems": services.MAX_BLOCKERS,
            "description": "Ids of tasks to finish first.",
        }
    ),
]
Labels = Annotated[
    list[Annotated[str, Field(max_length=50)]],
    Field(max_length=services.MAX_LABELS),
    WithJsonSchema({"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": services.MAX_LABELS}),
]
ClearableName = Literal["assignee", "due_date", "parent"]
Clear = Annotated[
    list[ClearableName],
    Field(max_length=3),
    WithJsonSchema(
        {"type": "array", "items": {"enum": list(get_args(ClearableName))}, "description": "Fields to empty."}
    ),
]


class TaskOut(TypedDict):
    """A task in full; empty fields are left out (tools.mcp.answers)."""

    id: str
    project_id: str
    title: str
    description: NotRequired[str]
    status: str
    priority: str
    labels: NotRequired[list[str]]
    due_date: NotRequired[date]
    assignee_agent_id: NotRequired[str]
    assignee_user_id: NotRequired[str]
    parent_id: NotRequired[str]
    blocked_by: NotRequired[list[str]]
    completion_notes: NotRequired[str]
    created_by_id: NotRequired[str]
    started_at: NotRequired[Instant]
    completed_at: NotRequired[Instant]
    created_at: Instant
    updated_at: Instant


class TaskRow(TypedDict):
    """A task in a list: what an agent needs to choose one (get_task has the rest)."""

    id: str
    project_id: str
    title: str
    status: str
    priority: str
    labels: NotRequired[list[str]]
    due_date: NotRequired[date]
    assignee_agent_id: NotRequired[str]
    assignee_user_id: NotRequired[str]
    parent_id: NotRequired[str]
    blocked_by: NotRequired[list[str]]
    updated_at: Instant


class TaskList(TypedDict):
    items: list[TaskRow]
    next_cursor: str | None


class TaskBrief(TypedDict):
    id: str
    title: str
    status: str
    priority: str


class TaskDetail(TaskOut):
    dependencies: NotRequired[list[TaskBrief]]
    subtasks: NotRequired[list[TaskBrief]]
    history: list[ActivityBrief]


class NextTask(TypedDict):
    task: TaskOut | None


class Deleted(TypedDict):
    id: str
    deleted_at: Instant
    reason: NotRequired[str]


def _blocker_ids(task: Task, blocker_ids: list[str] | None) -> list[str]:
    if blocker_ids is not None:
        return blocker_ids
    fetched = getattr(task, "live_blocker_ids", None)  # selectors' _with_blocker_ids
    return [str(pk) for pk in fetched] if fetched is not None else selectors.blocker_ids(task)


def _row_fields(task: Task, blocker_ids: list[str] | None) -> dict[str, Any]:
    """The fields a list row shows; the full answer adds the rest."""
    return {
        "id": str(task.pk),
        "project_id": str(task.project_id),
        "title": task.title,
        "status": task.status,
        "priority": task.priority,
        "labels": task.labels,
        "due_date": task.due_date,
        "assignee_agent_id": id_or_none(task.assignee_agent_id),
        "assignee_user_id": id_or_none(task.assignee_user_id),
        "parent_id": id_or_none(task.parent_id),
        "blocked_by": _blocker_ids(task, blocker_ids),
        "updated_at": task.updated_at,
    }


def task_out(task: Task, blocker_ids: list[str] | None = None) -> TaskOut:
    """`task` comes from a selector that fetched its live blockers' ids, or the caller
    knows them (`blocker_ids`); else they are read (one query)."""
    return present(
        TaskOut,
        **_row_fields(task, blocker_ids),
        description=task.description,
        completion_notes=task.completion_notes,
        created_by_id=id_or_none(task.created_by_id),
        started_at=task.started_at,
        completed_at=task.completed_at,
        created_at=task.created_at,
    )


def task_row(task: Task) -> TaskRow:
    """`task` comes from a selector that fetched its live blockers' ids."""
    return present(TaskRow, **_row_fields(task, None))


def task_brief(task: Task) -> TaskBrief:
    return TaskBrief(id=str(task.pk), title=task.title, status=task.status, priority=task.priority)


def _assignee(ctx: ToolContext, ref: str) -> Assignee:
    identity = ctx.identity
    return selectors.assignee_get(
        ref,
        member_of={identity.organization.pk, identity.live_organization.pk},
    )


def _answer(ctx: ToolContext, task: Task) -> TaskOut:
    # The row the service wrote (locked: nothing else changed it since), and its
    # blockers as they now stand.
    return task_out(task, selectors.blocker_ids(task))


@tool(category="tasks", read_only=False, creates=True)
def create_task(
    ctx: ToolContext,
    title: Title,
    project: ProjectRef,
    description: Description | None = None,
    assignee: AssigneeRef | None = None,
    priority: Priority = "medium",
    labels: Labels | None = None,
    due_date: date | None = None,
    parent: TaskRef | None = None,
    blocked_by: BlockedBy | None = None,
) -> TaskOut:
    """Create a todo task in a project."""
    blockers = selectors.tasks_get(blocked_by or [], argument="blocked_by")
    row = services.task_create(
        actor=ctx.actor,
        project=project_get(project),
        title=title,
        description=description or "",
        assignee=_assignee(ctx, assignee) if assignee else None,
        priority=priority,
        labels=labels or [],
        due_date=due_date,
        parent=selectors.task_get(parent, argument="parent") if parent else None,
        blocked_by=blockers,
    )
    # Nothing else changed the new task: its answer needs no second read.
    return task_out(row, [str(b.pk) for b in sorted(blockers, key=lambda b: (b.created_at, b.pk))])


@tool(category="tasks", read_only=True, idempotent=True)
def list_tasks(
    ctx: ToolContext,
    project: ProjectRef | None = None,
    status: Statuses | None = None,
    assignee: AssigneeRef | None = None,
    priority: Priority | None = None,
    label: Annotated[str | None, Field(max_length=50)] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> TaskList:
    """List tasks, newest first."""
    rows = selectors.task_list(
        project=project_get(project) if project else None,
        statuses=selectors.status_filter(status),
        assignee=_assignee(ctx, assignee) if assignee else None,
        priority=priority,
        label=label,
    )
    page = paginate(rows, limit=limit, cursor=cursor)
    return TaskList(items=[task_row(t) for t in page.items], next_cursor=page.next_cursor)


@tool(category="tasks", read_only=True, idempotent=True)
def get_task(ctx: ToolContext, task: TaskRef) -> TaskDetail:
    """One task with its dependencies, subtasks and history."""
    row = selectors.task_get(task)
    dependencies = selectors.task_dependencies(row)  # its live blockers, oldest first
    return present(
        TaskDetail,
        **task_out(row, [str(t.pk) for t in dependencies]),
        dependencies=[task_brief(t) for t in dependencies],
        subtasks=[task_brief(t) for t in selectors.task_subtasks(row)],
        history=[activity_brief(a, with_target=False) for a in selectors.task_history(row)],
    )


@tool(category="tasks", read_only=False, idempotent=True)
def update_task(
    ctx: ToolContext,
    task: TaskRef,
    status: Status | None = None,
    reopen: bool | None = None,
    assignee: AssigneeRef | None = None,
    priority: Priority | None = None,
    title: Title | None = None,
    description: Description | None = None,
    labels: Labels | None = None,
    due_date: date | None = None,
    parent: TaskRef | None = None,
    blocked_by: BlockedBy | None = None,
    clear: Clear | None = None,
) -> TaskOut:
    """Change a task; blocked_by replaces its list; reopen=true moves a done/cancelled task."""
    # Locked by this first read, unless the graph changes (its lock comes first).
    lock = parent is None and blocked_by is None
    row = selectors.task_get(task, lock=lock)
    updated = services.task_update(
        actor=ctx.actor,
        task=row,
        status=status,
        reopen=bool(reopen),
        assignee=_assignee(ctx, assignee) if assignee else None,
        priority=priority,
        title=title,
        description=description,
        labels=labels,
        due_date=due_date,
        parent=selectors.task_get(parent, argument="parent") if parent else None,
        blocked_by=selectors.tasks_get(blocked_by, argument="blocked_by") if blocked_by is not None else None,
        clear=clear or [],
        locked=lock,
    )
    return _answer(ctx, updated)


@tool(category="tasks", read_only=False, idempotent=True)
def complete_task(
    ctx: ToolContext,
    task: TaskRef,
    notes: Annotated[str | None, Field(max_length=20_000)] = None,
    close_subtasks: Annotated[
        bool, Field(description="Mark its open subtasks done too (else they refuse it).")
    ] = False,
) -> TaskOut:
    """Mark a task done, with optional notes."""
    row = selectors.task_get(task, lock=True)
    done = services.task_complete(actor=ctx.actor, task=row, notes=notes, close_subtasks=close_subtasks, locked=True)
    return _answer(ctx, done)


@tool(category="tasks", read_only=False, destructive=True, idempotent=True)
def delete_task(
    ctx: ToolContext, task: TaskRef, reason: Annotated[str | None, Field(max_length=500)] = None
) -> Deleted:
    """Soft-delete a task; it stops blocking others."""
    row = services.task_delete(actor=ctx.actor, task=selectors.task_get(task), reason=reason or "")
    return present(Deleted, id=str(row.pk), deleted_at=cast(datetime, row.deleted_at), reason=row.delete_reason)


@tool(category="tasks", read_only=False, writes_when="claim")
def get_next_task(
    ctx: ToolContext,
    agent: AgentRef | None = None,
    project: ProjectRef | None = None,
    claim: Annotated[
        bool,
        Field(
            description="Assign the task to `agent` (required then) and start it, atomically: no two callers get it."
        ),
    ] = False,
) -> NextTask:
    """Next unblocked todo task (an agent's, a project's, or the organization's), most urgent then oldest."""
    # A project-restricted token's work is its project's.
    scope = project_or_default(project)
    if claim:
        if agent is None:
            raise InvalidArguments("claim needs agent: the agent that takes the task (a token does not say which)")
        claimer = agent_get(agent)
        # An agent of one project claims that project's work unless told otherwise.
        claimed = services.task_claim(actor=ctx.actor, agent=claimer, project=scope or claimer.project_id)
        return NextTask(task=_answer(ctx, claimed) if claimed is not None else None)
    row = selectors.next_task(agent=agent_get(agent) if agent else None, project=scope)
    return NextTask(task=task_out(row) if row is not None else None)
