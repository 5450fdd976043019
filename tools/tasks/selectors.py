"""Reads for tasks. Every read sees live tasks only: a soft-deleted task answers like
a missing one, and for a project-restricted token so does another project's task."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from orchestra.db import unique_row
from orchestra.errors import NotFound, not_found
from orchestra.ids import parse_uuid
from orchestra.tenancy import current_organization_id
from tools.activity.models import Activity
from tools.agents.models import Agent
from tools.agents.selectors import agent_get
from tools.projects.models import TallyKind
from tools.projects.selectors import tallies
from tools.tasks.models import FINAL, LIVE, Task, TaskDependency, TaskStatus

HISTORY_SHOWN = 50
SUBTASKS_SHOWN = 100
OPEN: tuple[str, ...] = tuple(s for s in TaskStatus.values if s not in FINAL)


@dataclass(frozen=True)
class Assignee:
    """Exactly one of the two is set."""

    agent: Agent | None = None
    user: User | None = None


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


def live_tasks() -> QuerySet[Task]:
    return Task.objects.filter(LIVE)


def _with_blocker_ids(rows: QuerySet[Task]) -> QuerySet[Task]:
    """Each task with `live_blocker_ids`: its live blockers' ids, oldest first, as an
    array computed by PostgreSQL in the same statement (an index lookup per row)
    rather than a prefetch query and a related manager per task."""
    blockers = (
        TaskDependency.objects.filter(task=OuterRef("pk"), blocker__deleted_at__isnull=True)
        .order_by("blocker__created_at", "blocker_id")
        .values("blocker_id")
    )
    return rows.annotate(live_blocker_ids=ArraySubquery(blockers))


def task_get(ref: uuid.UUID | str, *, argument: str = "task", blockers: bool = False, lock: bool = False) -> Task:
    """A live task of the organization in scope by id; with `blockers`, its live
    blockers' ids come along (in the same statement) for task_out; with `lock`, the row
    is locked until the transaction ends (what the writing services need)."""
    uid = parse_uuid(str(ref))
    task = None
    if uid is not None:
        rows = live_tasks().filter(pk=uid)
        if lock:
            rows = rows.select_for_update()
        task = unique_row(_with_blocker_ids(rows) if blockers else rows)
    if task is None:
        raise not_found(argument, ref)
    return task


def tasks_get(refs: Sequence[uuid.UUID | str], *, argument: str) -> list[Task]:
    """Live tasks by id, in the order given (duplicates dropped), in one query (none
    for no ids); the first unknown one is a not_found naming `argument`."""
    if not refs:
        return []
    unique = list(dict.fromkeys(str(ref) for ref in refs))
    ids = {ref: parse_uuid(ref) for ref in unique}
    found = {
        t.pk: t
        for t in live_tasks()
        .filter(pk__in=[uid for uid in ids.values() if uid is not None])
        .only("id", "project_id", "title", "status", "created_at")
    }
    tasks = []
    for ref, uid in ids.items():
        task = found.get(uid) if uid is not None else None
        if task is None:
            raise not_found(argument, ref)
        tasks.append(task)
    return tasks


def assignee_get(ref: str, *, member_of: Iterable[Any], argument: str = "assignee") -> Assignee:
    """An agent (id or slug) or a member of the organization (email or user id).
    `member_of` are the organizations whose members count: a sandbox has none of its
    own, so a test token passes its live organization too."""
    members = User.objects.filter(is_active=True, memberships__organization_id__in=list(member_of))
    if "@" in ref:
        user = members.filter(email__iexact=ref.strip()).first()
        if user is None:
            raise not_found(argument, ref)
        return Assignee(user=user)
    try:
        return Assignee(agent=agent_get(ref, argument=argument))
    except NotFound:
        uid = parse_uuid(ref)
        user = members.filter(pk=uid).first() if uid is not None else None
        if user is None:
            raise
        return Assignee(user=user)


def task_list(
    *,
    project: Any = None,
    statuses: Sequence[str] = (),
    assignee: Assignee | None = None,
    priority: str | None = None,
    label: str | None = None,
) -> QuerySet[Task]:
    rows = live_tasks()
    if project is not None:
        rows = rows.filter(project_id=_pk(project))
    if statuses:
        rows = rows.filter(status__in=list(statuses))
    if assignee is not None:
        rows = (
            rows.filter(assignee_agent=assignee.agent) if assignee.agent else rows.filter(assignee_user=assignee.user)
        )
    if priority:
        rows = rows.filter(priority=priority)
    if label:
        rows = rows.filter(labels__contains=[label.strip().lower()])
    return _with_blocker_ids(rows)


def blocker_ids(task: Task) -> list[str]:
    """The ids of the live tasks `task` waits for, oldest first (as task_out lists them)."""
    rows = live_tasks().filter(dependents__task=task).order_by("created_at", "id")
    return [str(pk) for pk in rows.values_list("id", flat=True)]


def task_dependencies(task: Task) -> list[Task]:
    """The live tasks `task` waits for, with their status."""
    return list(
        live_tasks()
        .filter(dependents__task=task)
        .only("id", "title", "status", "priority")
        .order_by("created_at", "id")
    )


def task_subtasks(task: Task, *, limit: int = SUBTASKS_SHOWN) -> list[Task]:
    return list(
        live_tasks().filter(parent=task).only("id", "title", "status", "priority").order_by("created_at", "id")[:limit]
    )


def task_history(task: Task, *, limit: int = HISTORY_SHOWN) -> list[Activity]:
    """The task's activity rows, oldest first (the newest `limit` of them)."""
    rows = list(Activity.objects.filter(target_id=task.pk).order_by("-created_at", "-id")[:limit])
    rows.reverse()
    return rows


def _open_blockers() -> Exists:
    """Whether the outer task waits for a live task that is not done or cancelled."""
    return Exists(
        TaskDependency.objects.filter(task=OuterRef("pk"), blocker__deleted_at__isnull=True, blocker__status__in=OPEN)
    )


def next_task_rows(*, project: Any = None, agent: Agent | None = None) -> QuerySet[Task]:
    """Unblocked todo tasks (every blocker done, cancelled or deleted), critical first,
    then oldest: ordered along the task_next_* partial indexes."""
    rows = live_tasks().filter(status=TaskStatus.TODO)
    if project is not None:
        rows = rows.filter(project_id=_pk(project))
    if agent is not None:
        rows = rows.filter(assignee_agent=agent)
    return rows.filter(~_open_blockers()).order_by("priority_rank", "created_at", "id")


def claimable_rows(*, agent: Agent, project: Any = None) -> QuerySet[Task]:
    """next_task_rows that `agent` may claim: unassigned, or assigned to that agent (a
    task assigned to someone else is theirs to pick up)."""
    mine_or_nobodys = Q(assignee_agent=agent) | Q(assignee_agent__isnull=True, assignee_user__isnull=True)
    return next_task_rows(project=project).filter(mine_or_nobodys)


def next_task(*, project: Any = None, agent: Agent | None = None) -> Task | None:
    """The todo task to do next, in one query (plus one for its blocker ids)."""
    return _with_blocker_ids(next_task_rows(project=project, agent=agent)).first()


def task_counts_by_status(project: Any) -> dict[str, int]:
    """Live tasks of a project (a Project or its id) by status, every status present; one
    query of at most one row per status, whatever the project's size (the database keeps
    the tallies: ProjectTally)."""
    return {**dict.fromkeys(TaskStatus.values, 0), **tallies(project, TallyKind.TASKS)}


def open_task_rows(project: Any) -> QuerySet[Task]:
    """A project's live tasks that are neither done nor cancelled, most urgent first
    (priority, then oldest). Written as the task_open_in_project index's predicate, so
    the planner walks it."""
    return (
        Task.objects.filter(LIVE, project_id=_pk(project))
        .exclude(status__in=sorted(FINAL))
        .order_by("priority_rank", "created_at", "id")
    )


def open_tasks(project: Any, limit: int) -> list[Task]:
    """open_task_rows of a project (a Project or its id), the first `limit`; one query."""
    return list(open_task_rows(project)[:limit])


def blocker_cycle(task: Task, blockers: Sequence[Task]) -> Task | None:
    """The first of `blockers` that already waits for `task` (directly or through other
    live tasks): making `task` wait for it would close a cycle. One query."""
    if not blockers:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE reach(origin, id) AS (
                SELECT b, b FROM unnest(%s::uuid[]) AS b
                UNION
                SELECT reach.origin, d.blocker_id
                FROM reach
                JOIN tasks_taskdependency d ON d.task_id = reach.id AND d.organization_id = %s
                JOIN tasks_task t ON t.id = d.blocker_id AND t.deleted_at IS NULL
            )
            SELECT origin FROM reach WHERE id = %s LIMIT 1
            """,
            [[b.pk for b in blockers], current_organization_id(), task.pk],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return next(b for b in blockers if b.pk == row[0])


def is_ancestor(task: Task, of: Task) -> bool:
    """Whether `task` is `of` or one of its parents, grandparents...: making `task` a
    subtask of `of` would close a cycle. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE up(id, parent_id) AS (
                SELECT id, parent_id FROM tasks_task WHERE id = %s AND organization_id = %s
                UNION
                SELECT t.id, t.parent_id FROM tasks_task t JOIN up ON t.id = up.parent_id
            )
            SELECT EXISTS (SELECT 1 FROM up WHERE id = %s)
            """,
            [of.pk, current_organization_id(), task.pk],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


MAX_SUBTREE = 1000


def open_subtree(task: Task) -> list[Task]:
    """The live subtasks of `task` at any depth that are neither done nor cancelled,
    oldest first (at most MAX_SUBTREE). Two queries."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE down(id) AS (
                SELECT id FROM tasks_task WHERE parent_id = %s AND organization_id = %s AND deleted_at IS NULL
                UNION
                SELECT t.id FROM tasks_task t JOIN down ON t.parent_id = down.id
                WHERE t.organization_id = %s AND t.deleted_at IS NULL
            )
            SELECT id FROM down LIMIT %s
            """,
            [task.pk, current_organization_id(), current_organization_id(), MAX_SUBTREE],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    return list(
        live_tasks()
        .filter(pk__in=ids)
        .exclude(status__in=sorted(FINAL))
        .only("id", "project_id", "title", "status", "created_at")
        .order_by("created_at", "id")
    )


def status_filter(status: str | Sequence[str] | None) -> list[str]:
    if status is None:
        return []
    return [status] if isinstance(status, str) else list(dict.fromkeys(status))
