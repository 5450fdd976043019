"""Writes for tasks: one transaction and one audit row each. Everything is checked
before anything is written.

The services join the caller's transaction without a savepoint of their own (a tool
call is already one transaction): a failure rolls the whole call back, and a
create_task saves two round trips."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.plans import Resource
from billing.services import usage_consume
from orchestra.actor import SYSTEM, Actor
from orchestra.db import advisory_xact_lock
from orchestra.errors import Conflict, InvalidArguments, not_found
from orchestra.tenancy import current_organization_id, tenant_scope
from tools.activity.services import activity_record
from tools.agents.models import Agent
from tools.projects.models import Project
from tools.tasks.models import FINAL, LIVE, REOPEN_TO, TRANSITIONS, Task, TaskDependency, TaskStatus
from tools.tasks.selectors import Assignee, blocker_cycle, claimable_rows, is_ancestor, open_subtree

MAX_BLOCKERS = 50
MAX_LABELS = 20
CLEARABLE = ("assignee", "due_date", "parent")


def clean_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidArguments("title must not be empty")
    return title


def clean_labels(labels: Sequence[str]) -> list[str]:
    cleaned = sorted({label.strip().lower() for label in labels if label.strip()})
    if len(cleaned) > MAX_LABELS:
        raise InvalidArguments(f"at most {MAX_LABELS} labels")
    return cleaned


def _check_blockers(blockers: Sequence[Task], project_id: Any) -> None:
    # Dependencies stay inside one project, like subtasks: a project-restricted token
    # then sees (and replaces) every dependency of its tasks, and get_next_task of a
    # project depends on that project's tasks only.
    if len(blockers) > MAX_BLOCKERS:
        raise InvalidArguments(f"blocked_by: at most {MAX_BLOCKERS} tasks")
    for blocker in blockers:
        if blocker.project_id != project_id:
            raise InvalidArguments(
                f"blocked_by: task {blocker.pk} is in another project; dependencies stay in one project"
            )


def _check_parent(parent: Task, project_id: Any) -> None:
    if parent.project_id != project_id:
        raise InvalidArguments(
            f"parent: task {parent.pk} is in another project; a subtask stays in its parent's project"
        )


def check_transition(current: str, target: str, *, reopen: bool) -> None:
    """Refuse a status change the workflow does not allow, naming the allowed ones."""
    if current in FINAL:
        if not reopen:
            raise Conflict(
                f"task is {current}: to reopen it call update_task with reopen=true and status one of "
                f"{', '.join(REOPEN_TO)}"
            )
        if target not in REOPEN_TO:
            raise Conflict(f"a reopened task goes to one of: {', '.join(REOPEN_TO)}")
        return
    if reopen:
        raise InvalidArguments(f"reopen is only for a done or cancelled task; this one is {current}")
    if target not in TRANSITIONS[current]:
        raise Conflict(f"task cannot go from {current} to {target}; allowed: {', '.join(TRANSITIONS[current])}")


def _move(task: Task, target: str, now: Any) -> list[str]:
    """Set status and the timestamps that follow it; the fields changed."""
    reopened = task.status in FINAL
    task.status = target
    changed = ["status"]
    if target == TaskStatus.IN_PROGRESS and task.started_at is None:
        task.started_at = now
        changed.append("started_at")
    if target == TaskStatus.DONE:
        task.completed_at = now
        changed.append("completed_at")
    elif reopened and task.completed_at is not None:
        task.completed_at = None
        changed.append("completed_at")
    if target != TaskStatus.IN_PROGRESS and task.claimed_at is not None:
        # The claimed work moved on (in review, done, back to todo...): the claim is over.
        task.claimed_at = None
        changed.append("claimed_at")
    return changed


def _lock(task: Task) -> Task:
    """The row again, locked until commit: concurrent changes are serialised (and one
    deleted meanwhile is gone)."""
    locked = Task.objects.select_for_update().filter(LIVE, pk=task.pk).first()
    if locked is None:
        raise not_found("task", task.pk)
    return locked


def _lock_graph() -> None:
    # Two concurrent changes could each add one edge of a cycle that neither sees:
    # parent and dependency changes of one organization take turns.
    advisory_xact_lock(f"task-graph:{current_organization_id()}")


def _set_blockers(task: Task, blockers: Sequence[Task]) -> None:
    TaskDependency.objects.filter(task=task).exclude(blocker__in=list(blockers)).delete()
    existing = set(TaskDependency.objects.filter(task=task).values_list("blocker_id", flat=True))
    TaskDependency.objects.bulk_create(
        [
            TaskDependency(organization_id=task.organization_id, task=task, blocker=b)
            for b in blockers
            if b.pk not in existing
        ]
    )


def _ids(tasks: Sequence[Task]) -> list[str]:
    return [str(t.pk) for t in tasks]


@transaction.atomic(savepoint=False)
def task_create(
    *,
    actor: Actor,
    project: Project,
    title: str,
    description: str = "",
    assignee: Assignee | None = None,
    priority: str = "medium",
    labels: Sequence[str] = (),
    due_date: date | None = None,
    parent: Task | None = None,
    blocked_by: Sequence[Task] = (),
) -> Task:
    """A new task, status todo. A new task cannot close a cycle: nothing points at it yet."""
    title = clean_title(title)
    cleaned_labels = clean_labels(labels)
    if parent is not None:
        _check_parent(parent, project.pk)
    _check_blockers(blocked_by, project.pk)
    task = Task(
        organization_id=current_organization_id(),
        project=project,
        title=title,
        description=description,
        priority=priority,
        labels=cleaned_labels,
        due_date=due_date,
        assignee_agent=assignee.agent if assignee else None,
        assignee_user=assignee.user if assignee else None,
        parent=parent,
        created_by_id=actor.user_id,
    )
    task.save(force_insert=True)
    TaskDependency.objects.bulk_create(
        [TaskDependency(organization_id=task.organization_id, task=task, blocker=b) for b in blocked_by]
    )
    metadata: dict[str, Any] = {"status": task.status, "priority": priority}
    if parent is not None:
        metadata["parent"] = str(parent.pk)
    if blocked_by:
        metadata["blocked_by"] = _ids(blocked_by)
    activity_record(
        actor=actor, type="task.created", target=task, project_id=project.pk, description=title[:120], metadata=metadata
    )
    # Tasks count per calendar month (UTC) and are never given back; the counter last.
    usage_consume(organization=task.organization_id, resource=Resource.TASKS)
    return task


@transaction.atomic(savepoint=False)
def task_update(
    *,
    actor: Actor,
    task: Task,
    status: str | None = None,
    reopen: bool = False,
    assignee: Assignee | None = None,
    priority: str | None = None,
    title: str | None = None,
    description: str | None = None,
    labels: Sequence[str] | None = None,
    due_date: date | None = None,
    parent: Task | None = None,
    blocked_by: Sequence[Task] | None = None,
    clear: Sequence[str] = (),
    locked: bool = False,
) -> Task:
    """Change a task. Only what differs is written; a call that changes nothing writes
    nothing (and no audit row). `locked`: the caller read `task` with
    selectors.task_get(lock=True) in this transaction, and changes neither its parent
    nor its blockers (those take the graph lock first: docs/decisions/0010)."""
    given = [
        name
        for name, value in (
            ("status", status),
            ("assignee", assignee),
            ("priority", priority),
            ("title", title),
            ("description", description),
            ("labels", labels),
            ("due_date", due_date),
            ("parent", parent),
            ("blocked_by", blocked_by),
        )
        if value is not None
    ]
    clear = list(dict.fromkeys(clear))
    if not given and not clear:
        raise InvalidArguments("nothing to update: pass a field to change or clear")
    if both := sorted(set(given) & set(clear)):
        raise InvalidArguments(f"{', '.join(both)}: either set or clear, not both")
    if unknown := [c for c in clear if c not in CLEARABLE]:
        raise InvalidArguments(f"clear: {', '.join(unknown)} cannot be cleared; clearable: {', '.join(CLEARABLE)}")
    if reopen and status is None:
        raise InvalidArguments(f"reopen needs a status: one of {', '.join(REOPEN_TO)}")
    if title is not None:
        title = clean_title(title)
    cleaned_labels = clean_labels(labels) if labels is not None else None
    if blocked_by is not None:
        _check_blockers(blocked_by, task.project_id)
        if any(b.pk == task.pk for b in blocked_by):
            raise InvalidArguments("blocked_by: a task cannot wait for itself")
    if parent is not None:
        _check_parent(parent, task.project_id)

    if parent is not None or blocked_by:
        if locked:
            raise ValueError("a task locked before the graph lock cannot change its parent or blockers")
        _lock_graph()
    if not locked:
        task = _lock(task)
    now = timezone.now()
    changed: list[str] = []
    status_change: dict[str, str] = {}
    if status is not None and (status != task.status or reopen):
        check_transition(task.status, status, reopen=reopen)
        if status == TaskStatus.DONE and (open_rows := open_subtree(task)):
            raise _open_subtasks_refusal(open_rows)
        status_change = {"from": task.status, "to": status}
        changed += _move(task, status, now)
    if parent is not None and parent.pk != task.parent_id:
        if is_ancestor(task, parent):
            raise InvalidArguments(f"parent: task {parent.pk} is this task or one of its subtasks; a cycle is refused")
        task.parent = parent
        changed.append("parent")
    if "parent" in clear and task.parent_id is not None:
        task.parent = None
        changed.append("parent")
    if assignee is not None:
        agent_id, user_id = getattr(assignee.agent, "pk", None), getattr(assignee.user, "pk", None)
        if (agent_id, user_id) != (task.assignee_agent_id, task.assignee_user_id):
            task.assignee_agent_id, task.assignee_user_id = agent_id, user_id
            changed.append("assignee")
    if "assignee" in clear and (task.assignee_agent_id or task.assignee_user_id):
        task.assignee_agent_id = task.assignee_user_id = None
        changed.append("assignee")
    for name, value in (
        ("priority", priority),
        ("title", title),
        ("description", description),
        ("labels", cleaned_labels),
        ("due_date", due_date),
    ):
        if value is not None and getattr(task, name) != value:
            setattr(task, name, value)
            changed.append(name)
    if "due_date" in clear and task.due_date is not None:
        task.due_date = None
        changed.append("due_date")
    blockers_changed = False
    if blocked_by is not None:
        current = set(
            TaskDependency.objects.filter(task=task, blocker__deleted_at__isnull=True).values_list(
                "blocker_id", flat=True
            )
        )
        if current != {b.pk for b in blocked_by}:
            if (cycle := blocker_cycle(task, blocked_by)) is not None:
                raise InvalidArguments(
                    f"blocked_by: task {cycle.pk} already waits for this task (directly or through others); "
                    "a cycle is refused"
                )
            blockers_changed = True

    if not changed and not blockers_changed:
        return task
    fields = [f for f in dict.fromkeys(changed) if f != "assignee"]
    if "assignee" in changed:
        # Someone assigned it on purpose: a stale claim no longer takes the assignment back.
        task.claim_assigned = False
        fields += ["assignee_agent", "assignee_user", "claim_assigned"]
    task.save(update_fields=[*fields, "updated_at"])
    if blockers_changed and blocked_by is not None:
        _set_blockers(task, blocked_by)
        changed.append("blocked_by")
    metadata: dict[str, Any] = {"fields": sorted(set(changed))}
    if status_change:
        metadata["status"] = status_change
    if blockers_changed and blocked_by is not None:
        metadata["blocked_by"] = _ids(blocked_by)
    if reopen:
        kind = "task.reopened"
    elif status_change.get("to") == TaskStatus.DONE:
        kind = "task.completed"
    else:
        kind = "task.updated"
    activity_record(
        actor=actor, type=kind, target=task, project_id=task.project_id, description=task.title[:120], metadata=metadata
    )
    return task


SUBTASKS_NAMED = 10


def _open_subtasks_refusal(open_rows: Sequence[Task]) -> Conflict:
    named = "; ".join(f"{t.pk} {t.title[:60]!r} ({t.status})" for t in open_rows[:SUBTASKS_NAMED])
    more = f" and {len(open_rows) - SUBTASKS_NAMED} more" if len(open_rows) > SUBTASKS_NAMED else ""
    return Conflict(
        f"task has {len(open_rows)} open subtask(s): {named}{more}; finish them first, "
        "or call complete_task with close_subtasks=true to mark them done with it",
        details={
            "open_subtasks": [
                {"id": str(t.pk), "title": t.title, "status": t.status} for t in open_rows[:SUBTASKS_NAMED]
            ],
            "open_subtask_count": len(open_rows),
        },
    )


def _close_subtasks(actor: Actor, parent: Task, open_rows: Sequence[Task], now: datetime) -> None:
    """Mark open subtasks done along with their parent (whatever their status: the
    parent's completion says their work is over), one audit row each."""
    Task.objects.filter(pk__in=[t.pk for t in open_rows]).update(
        status=TaskStatus.DONE, completed_at=now, claimed_at=None, updated_at=now
    )
    for row in open_rows:
        activity_record(
            actor=actor,
            type="task.completed",
            target=row,
            project_id=row.project_id,
            description=row.title[:120],
            metadata={
                "fields": ["completed_at", "status"],
                "status": {"from": row.status, "to": TaskStatus.DONE},
                "closed_with": str(parent.pk),
            },
        )


@transaction.atomic(savepoint=False)
def task_complete(
    *, actor: Actor, task: Task, notes: str | None = None, close_subtasks: bool = False, locked: bool = False
) -> Task:
    """Mark a task done with optional completion notes. Completing a done task again
    changes nothing. A task with open subtasks is refused (they are listed) unless
    `close_subtasks` marks them done too. `locked`: the caller read `task` with
    selectors.task_get(lock=True) in this transaction."""
    if not locked:
        task = _lock(task)
    if task.status == TaskStatus.DONE:
        return _renote(actor=actor, task=task, notes=notes)
    check_transition(task.status, TaskStatus.DONE, reopen=False)
    now = timezone.now()
    if open_rows := open_subtree(task):
        if not close_subtasks:
            raise _open_subtasks_refusal(open_rows)
        _close_subtasks(actor, task, open_rows, now)
    previous = task.status
    changed = _move(task, TaskStatus.DONE, now)
    if notes is not None:
        task.completion_notes = notes
        changed.append("completion_notes")
    task.save(update_fields=[*changed, "updated_at"])
    activity_record(
        actor=actor,
        type="task.completed",
        target=task,
        project_id=task.project_id,
        description=task.title[:120],
        metadata={"fields": sorted(changed), "status": {"from": previous, "to": TaskStatus.DONE}},
    )
    return task


def _renote(*, actor: Actor, task: Task, notes: str | None) -> Task:
    """complete_task on a done task: new notes replace the old ones; otherwise nothing changes."""
    if notes is None or notes == task.completion_notes:
        return task
    task.completion_notes = notes
    task.save(update_fields=["completion_notes", "updated_at"])
    activity_record(
        actor=actor,
        type="task.updated",
        target=task,
        project_id=task.project_id,
        description=task.title[:120],
        metadata={"fields": ["completion_notes"]},
    )
    return task


@transaction.atomic(savepoint=False)
def task_delete(*, actor: Actor, task: Task, reason: str = "") -> Task:
    """Soft delete: the row and its audit trail stay; no read shows it and it blocks
    nothing any more."""
    task = _lock(task)
    task.deleted_at = timezone.now()
    task.deleted_by_id = actor.user_id
    task.delete_reason = reason.strip()
    task.save(update_fields=["deleted_at", "deleted_by", "delete_reason", "updated_at"])
    activity_record(
        actor=actor,
        type="task.deleted",
        target=task,
        project_id=task.project_id,
        description=task.title[:120],
        metadata={"status": task.status, **({"reason": task.delete_reason} if task.delete_reason else {})},
    )
    return task


@transaction.atomic(savepoint=False)
def task_claim(*, actor: Actor, agent: Agent, project: Any = None) -> Task | None:
    """Take the next task `agent` may claim (claimable_rows): assign it to the agent and
    start it, in one transaction. Concurrent claimers skip the rows another is claiming
    (FOR UPDATE SKIP LOCKED) instead of queueing behind it, and a row claimed and
    committed meanwhile is re-checked by PostgreSQL and no longer matches: each task is
    claimed once, and nobody waits. None when nothing is claimable."""
    task = claimable_rows(agent=agent, project=project).select_for_update(skip_locked=True, of=("self",)).first()
    if task is None:
        return None
    now = timezone.now()
    previous = task.status
    changed = _move(task, TaskStatus.IN_PROGRESS, now)
    task.claim_assigned = task.assignee_agent_id is None
    task.assignee_agent = agent
    task.claimed_at = now
    task.save(update_fields=[*changed, "assignee_agent", "claimed_at", "claim_assigned", "updated_at"])
    activity_record(
        actor=actor.with_agent(agent.pk),
        type="task.claimed",
        target=task,
        project_id=task.project_id,
        description=task.title[:120],
        metadata={"agent": str(agent.pk), "status": {"from": previous, "to": TaskStatus.IN_PROGRESS}},
    )
    return task


STALE_CLAIMS_PER_SWEEP = 500


def claims_release_stale(*, now: datetime | None = None) -> int:
    """Return claims nobody has touched for TASK_CLAIM_TIMEOUT_SECONDS to the queue (any
    change to the task keeps its claim alive): the task goes back to todo, loses the
    assignment the claim made, and its activity says so. Runs for every organization
    (beat); each task in its own short transaction, skipping one being changed right now.
    Returns how many claims were released."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TASK_CLAIM_TIMEOUT_SECONDS)
    stale = Task.unscoped.filter(
        LIVE, status=TaskStatus.IN_PROGRESS, claimed_at__isnull=False, updated_at__lt=cutoff
    ).order_by("updated_at")
    released = 0
    for organization_id, task_id in stale.values_list("organization_id", "pk")[:STALE_CLAIMS_PER_SWEEP]:
        with tenant_scope(organization_id), transaction.atomic():
            task = (
                Task.objects.select_for_update(skip_locked=True)
                .filter(
                    LIVE, pk=task_id, status=TaskStatus.IN_PROGRESS, claimed_at__isnull=False, updated_at__lt=cutoff
                )
                .first()
            )
            if task is None:
                continue  # changed (or being changed) since the sweep looked
            agent_id, claimed_at, idle = task.assignee_agent_id, task.claimed_at, now - task.updated_at
            task.status = TaskStatus.TODO
            task.claimed_at = None
            fields = ["status", "claimed_at", "updated_at"]
            if task.claim_assigned:
                task.assignee_agent = None
                task.claim_assigned = False
                fields += ["assignee_agent", "claim_assigned"]
            task.save(update_fields=fields)
            activity_record(
                actor=SYSTEM,
                type="task.claim_expired",
                target=task,
                project_id=task.project_id,
                description=task.title[:120],
                metadata={
                    "agent": str(agent_id) if agent_id else None,
                    "claimed_at": claimed_at.isoformat() if claimed_at else None,
                    "idle_seconds": int(idle.total_seconds()),
                    "status": {"from": TaskStatus.IN_PROGRESS, "to": TaskStatus.TODO},
                },
            )
            released += 1
    return released
