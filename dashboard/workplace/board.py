"""A project's task board: seven columns (one per status), what a card shows, the
filters (assignee, label, priority), and the menus of who can be assigned.

Reads only; moving a card is a task change (dashboard.workplace.task_actions)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Count, F, Prefetch, QuerySet, Window, prefetch_related_objects
from django.db.models.functions import RowNumber

from accounts.models import User
from dashboard.workplace.common import FilterForm, choice_field
from orchestra.errors import NotFound
from tools.agents.models import Agent, AgentStatus
from tools.projects.models import Project
from tools.tasks.models import FINAL, LIVE, Task, TaskPriority, TaskStatus
from tools.tasks.selectors import OPEN, Assignee, assignee_get

# A board column shows this many tasks; its header says how many there are in all.
COLUMN_LIMIT = 50
# How many agents and members an assignee menu lists (the rest are typed in the tools).
ASSIGNEE_CHOICES_LIMIT = 200
COLUMN_TITLES = {TaskStatus(value): label for value, label in TaskStatus.choices}
STATUS_CHOICES = TaskStatus.choices
PRIORITY_CHOICES = [(p, p.capitalize()) for p in TaskPriority.values]


def assignee_choices(organization: Any, *, keep: Task | None = None) -> list[Any]:
    """Grouped (value, label) choices: active agents by slug, members by email. `keep`'s
    current assignee stays listed even if it is no longer active, so an edit of the task
    does not silently drop it. Two queries."""
    agents = list(
        Agent.objects.filter(deleted_at__isnull=True, status=AgentStatus.ACTIVE)
        .order_by("name", "slug")
        .values_list("slug", "name")[:ASSIGNEE_CHOICES_LIMIT]
    )
    if keep is not None and keep.assignee_agent is not None and keep.assignee_agent.slug not in dict(agents):
        agents.append((keep.assignee_agent.slug, keep.assignee_agent.name))
    members = list(
        User.objects.filter(is_active=True, memberships__organization=organization)
        .order_by("email")
        .values_list("email", "name")[:ASSIGNEE_CHOICES_LIMIT]
    )
    return [
        ("Agents", [(slug, f"{name} (agent)") for slug, name in agents]),
        ("Members", [(email, name or email) for email, name in members]),
    ]


def assignee_value(task: Task) -> str:
    """The menu value of a task's assignee ("" for nobody)."""
    if task.assignee_agent is not None:
        return task.assignee_agent.slug
    if task.assignee_user is not None:
        return task.assignee_user.email
    return ""


def resolve_assignee(ref: str, organization: Any) -> Assignee:
    """An agent (slug or id) or a member (email or id) of the organization, as the
    tools resolve them; anyone else is a form error, never a silent "nobody"."""
    try:
        return assignee_get(ref, member_of={organization.pk})
    except NotFound as exc:
        raise forms.ValidationError("no agent or member of this organization by that name") from exc


class _AssigneeField(forms.ChoiceField):
    # The menu lists the first ASSIGNEE_CHOICES_LIMIT of each kind; a value outside it is
    # still looked up (and refused when unknown) rather than rejected as "not a choice".
    def valid_value(self, value: Any) -> bool:
        return True


def assignee_field(label: str = "Assignee", *, nobody: str = "Nobody") -> forms.ChoiceField:
    return _AssigneeField(required=False, label=label, choices=[("", nobody)])


class BoardFilters(FilterForm):
    assignee = assignee_field(nobody="Anyone")
    label = forms.CharField(required=False, max_length=50, label="Label")
    priority = choice_field("Priority", PRIORITY_CHOICES, everything="Any")

    def __init__(self, data: Any, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        self.organization = organization
        field = self.fields["assignee"]
        assert isinstance(field, forms.ChoiceField)
        # Lazy: the menu's two queries run only when a page shows the form (not for the
        # board fragment the script fetches), and once (rendering iterates choices twice).
        menu: list[Any] = []

        def choices() -> list[Any]:
            if not menu:
                menu.extend([("", "Anyone"), *assignee_choices(organization)])
            return menu

        field.choices = choices

    def clean_assignee(self) -> Assignee | None:
        ref = (self.cleaned_data.get("assignee") or "").strip()
        return resolve_assignee(ref, self.organization) if ref else None

    def clean_label(self) -> str:
        return str(self.cleaned_data.get("label") or "").strip().lower()

    @property
    def active(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in ("assignee", "label", "priority"))


def filtered_tasks(
    project: Project, *, assignee: Assignee | None = None, label: str = "", priority: str = ""
) -> QuerySet[Task]:
    rows = Task.objects.filter(LIVE, project=project)
    if assignee is not None:
        rows = (
            rows.filter(assignee_agent=assignee.agent) if assignee.agent else rows.filter(assignee_user=assignee.user)
        )
    if label:
        rows = rows.filter(labels__contains=[label])
    if priority:
        rows = rows.filter(priority=priority)
    return rows


def board_columns(project: Project, *, counts: dict[str, int] | None = None, **filters: Any) -> list[dict[str, Any]]:
    """The project's live tasks by status, each column capped at COLUMN_LIMIT: open
    columns most urgent first, then oldest; done and cancelled most recently changed
    first. Each card knows the open tasks it waits for. Four queries (counts, open,
    finished, blockers), whatever the number of tasks; three when the caller knows the
    unfiltered `counts` by status already (project_stats' "tasks")."""
    rows = filtered_tasks(project, **filters)
    if counts is None or any(filters.values()):
        counts = dict(rows.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    counts = {status: counts.get(status, 0) for status in TaskStatus.values}
    by_status: dict[str, list[Task]] = {status: [] for status in TaskStatus.values}
    open_rows = rows.exclude(status__in=sorted(FINAL)).annotate(
        position=Window(RowNumber(), partition_by=[F("status")], order_by=[F("priority_rank"), F("created_at")])
    )
    finished_rows = rows.filter(status__in=sorted(FINAL)).annotate(
        position=Window(RowNumber(), partition_by=[F("status")], order_by=[F("updated_at").desc()])
    )
    waits_for = Prefetch(
        "blocked_by",
        queryset=Task.objects.filter(LIVE, status__in=OPEN).only("id", "title", "status").order_by("created_at"),
        to_attr="open_blockers",
    )
    shown: list[Task] = []
    for part, order in ((open_rows, ("priority_rank", "created_at", "id")), (finished_rows, ("-updated_at", "-id"))):
        shown += (
            part.filter(position__lte=COLUMN_LIMIT)
            .order_by(*order)
            .select_related("assignee_agent", "assignee_user")
            .defer("description", "completion_notes")
        )
    prefetch_related_objects(shown, waits_for)
    for task in shown:
        by_status[task.status].append(task)
    return [
        {
            "status": status,
            "title": COLUMN_TITLES[TaskStatus(status)],
            "tasks": by_status[status],
            "count": counts[status],
        }
        for status in TaskStatus.values
    ]
