"""Tasks: work items of a project with a status workflow, priority, an assignee (an
agent or a member), subtasks and blocking dependencies. Deletion is soft."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel

LIVE = models.Q(deleted_at__isnull=True)


class TaskStatus(models.TextChoices):
    # The labels are what people read (board columns, menus); agents use the values.
    BACKLOG = "backlog", "Backlog"
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    BLOCKED = "blocked", "Blocked"
    IN_REVIEW = "in_review", "In review"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


# A final task leaves its status only by an explicit reopen (update_task reopen=true).
FINAL: frozenset[str] = frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})

# Where each open status may go. Work is finished (done) from todo, in progress or in
# review: a backlog or blocked task is picked up first, so its history says so.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    TaskStatus.BACKLOG: (TaskStatus.TODO, TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED),
    TaskStatus.TODO: (
        TaskStatus.BACKLOG,
        TaskStatus.IN_PROGRESS,
        TaskStatus.BLOCKED,
        TaskStatus.DONE,
        TaskStatus.CANCELLED,
    ),
    TaskStatus.IN_PROGRESS: (
        TaskStatus.TODO,
        TaskStatus.BLOCKED,
        TaskStatus.IN_REVIEW,
        TaskStatus.DONE,
        TaskStatus.CANCELLED,
    ),
    TaskStatus.BLOCKED: (TaskStatus.TODO, TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED),
    TaskStatus.IN_REVIEW: (
        TaskStatus.IN_PROGRESS,
        TaskStatus.BLOCKED,
        TaskStatus.DONE,
        TaskStatus.CANCELLED,
    ),
    TaskStatus.DONE: (),
    TaskStatus.CANCELLED: (),
}
# Where a reopened (done or cancelled) task may go.
REOPEN_TO: tuple[str, ...] = (TaskStatus.BACKLOG, TaskStatus.TODO, TaskStatus.IN_PROGRESS)


class TaskPriority(models.TextChoices):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Sort order of priorities (critical first), kept by PostgreSQL in `priority_rank`.
PRIORITY_RANK: dict[str, int] = {p.value: n for n, p in enumerate(TaskPriority)}


class Task(TenantModel):
    """One task. The assignee is an agent or a user (a member of the organization),
    never both. Soft-deleted tasks keep their row (and their activity trail) but are
    gone from every read and block nothing."""

    PROJECT_PATHS = ("project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.TODO)
    priority = models.CharField(max_length=8, choices=TaskPriority.choices, default=TaskPriority.MEDIUM)
    # An integer for ordering (critical=0 ... low=3), so get_next_task walks an index.
    priority_rank = models.GeneratedField(
        expression=models.Case(
            *(models.When(priority=name, then=models.Value(rank)) for name, rank in PRIORITY_RANK.items()),
            default=models.Value(len(PRIORITY_RANK)),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    labels = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    due_date = models.DateField(null=True, blank=True)
    assignee_agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    assignee_user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subtasks")
    blocked_by = models.ManyToManyField(
        "self", through="TaskDependency", symmetrical=False, related_name="blocks", blank=True
    )
    completion_notes = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # get_next_task(claim=true): when the task was claimed (None: not under a claim), and
    # whether the claim assigned it. A claim whose task goes unchanged for
    # TASK_CLAIM_TIMEOUT_SECONDS returns to the queue, and gives back an assignment it made.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_assigned = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    delete_reason = models.CharField(max_length=500, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(assignee_agent__isnull=True) | models.Q(assignee_user__isnull=True),
                name="task_one_assignee",
            ),
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="task_not_own_parent"),
        ]
        indexes = [
            # list_tasks: newest first, in the organization, a project, a status, an assignee.
            models.Index(fields=["organization", "-created_at", "-id"], condition=LIVE, name="task_org_list"),
            models.Index(
                fields=["organization", "project", "-created_at", "-id"], condition=LIVE, name="task_project_list"
            ),
            models.Index(
                fields=["organization", "project", "status", "-created_at", "-id"],
                condition=LIVE,
                name="task_project_status",
            ),
            models.Index(
                fields=["organization", "assignee_agent", "-created_at", "-id"],
                condition=LIVE,
                name="task_agent_list",
            ),
            models.Index(
                fields=["organization", "assignee_user", "-created_at", "-id"],
                condition=LIVE,
                name="task_user_list",
            ),
            GinIndex(fields=["labels"], condition=LIVE, name="task_labels_gin"),
            # get_next_task: todo tasks in priority order, then oldest.
            models.Index(
                fields=["organization", "project", "priority_rank", "created_at", "id"],
                condition=LIVE & models.Q(status=TaskStatus.TODO),
                name="task_next_in_project",
            ),
            models.Index(
                fields=["organization", "assignee_agent", "priority_rank", "created_at", "id"],
                condition=LIVE & models.Q(status=TaskStatus.TODO),
                name="task_next_for_agent",
            ),
            # The stale-claim sweep (every organization): claimed tasks in progress, by last change.
            models.Index(
                fields=["updated_at"],
                condition=LIVE & models.Q(status=TaskStatus.IN_PROGRESS, claimed_at__isnull=False),
                name="task_claimed",
            ),
            # open_tasks (resume_session, project pages): open tasks, most urgent first.
            models.Index(
                fields=["organization", "project", "priority_rank", "created_at", "id"],
                condition=LIVE & ~models.Q(status__in=sorted(FINAL)),
                name="task_open_in_project",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TaskDependency(TenantModel):
    """`task` cannot start before `blocker` is done or cancelled (or deleted)."""

    PROJECT_PATHS = ("task__project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependencies")
    blocker = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependents")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name_plural = "task dependencies"
        constraints = [
            models.UniqueConstraint(fields=["task", "blocker"], name="task_dependency_once"),
            models.CheckConstraint(condition=~models.Q(task=models.F("blocker")), name="task_not_own_blocker"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} blocked by {self.blocker_id}"
