"""Projects: the list with counts, and a project's page with its task board."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber
from django.http import HttpRequest, HttpResponse

from dashboard.context import organization_required
from dashboard.workplace.activity import feed_rows
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of
from memory.models import Memory
from tools.decisions.models import Decision
from tools.features.models import Feature
from tools.projects.models import Project, ProjectStatus
from tools.projects.selectors import project_get, project_list, project_stats
from tools.specs.models import Spec
from tools.tasks.models import FINAL, LIVE, Task, TaskStatus
from tools.tasks.selectors import OPEN, open_task_rows

# A board column shows this many tasks; its header says how many there are in all.
COLUMN_LIMIT = 50
ACTIVITY_SHOWN = 10
COLUMN_TITLES = {
    TaskStatus.BACKLOG: "Backlog",
    TaskStatus.TODO: "To do",
    TaskStatus.IN_PROGRESS: "In progress",
    TaskStatus.BLOCKED: "Blocked",
    TaskStatus.IN_REVIEW: "In review",
    TaskStatus.DONE: "Done",
    TaskStatus.CANCELLED: "Cancelled",
}


def _count(rows: QuerySet[Any]) -> Coalesce:
    """A correlated COUNT(*) of `rows` (already filtered on project=OuterRef("pk"))."""
    counted = rows.order_by().values("project").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def projects_with_counts(*, status: str) -> QuerySet[Project]:
    """Projects with the figures a list shows, in one query whatever their number."""
    mine = OuterRef("pk")
    return project_list(status=status).annotate(
        open_tasks=_count(Task.objects.filter(LIVE, project=mine, status__in=OPEN)),
        total_tasks=_count(Task.objects.filter(LIVE, project=mine)),
        memory_count=_count(Memory.objects.filter(project=mine, archived=False)),
        decision_count=_count(Decision.objects.filter(project=mine)),
        feature_count=_count(Feature.objects.filter(project=mine)),
        spec_count=_count(Spec.objects.filter(project=mine)),
    )


class ProjectFilters(FilterForm):
    status = choice_field("Status", [(ProjectStatus.ARCHIVED, "Archived"), ("all", "All")], everything="Active")


@organization_required
def project_index(request: HttpRequest) -> HttpResponse:
    form = ProjectFilters(request.GET)
    if not form.is_valid():
        return page(request, "web/dashboard/projects/list.html", "projects", {"form": form, "rows": []}, status=400)
    status = form.cleaned_data["status"] or ProjectStatus.ACTIVE
    rows = page_of(request, projects_with_counts(status=status))
    return page(
        request,
        "web/dashboard/projects/list.html",
        "projects",
        {"form": form, "rows": rows.items, "next_cursor": rows.next_cursor, "status": status},
    )


def board(project: Project, counts: dict[str, int]) -> list[dict[str, Any]]:
    """The project's live tasks by status, each column capped at COLUMN_LIMIT: open
    columns most urgent first, then oldest; done and cancelled most recently changed
    first. Two queries (open, finished), whatever the number of tasks. `counts` are the
    totals by status (project_stats' "tasks")."""
    by_status: dict[str, list[Task]] = {status: [] for status in TaskStatus.values}
    open_rows = open_task_rows(project).annotate(
        position=Window(RowNumber(), partition_by=[F("status")], order_by=[F("priority_rank"), F("created_at")])
    )
    finished_rows = (
        Task.objects.filter(LIVE, project=project, status__in=sorted(FINAL))
        .annotate(position=Window(RowNumber(), partition_by=[F("status")], order_by=[F("updated_at").desc()]))
        .order_by("-updated_at", "-id")
    )
    for rows in (open_rows, finished_rows):
        shown = rows.filter(position__lte=COLUMN_LIMIT).select_related("assignee_agent", "assignee_user")
        for task in shown.defer("description", "completion_notes"):
            by_status[task.status].append(task)
    return [
        {
            "status": status,
            "title": COLUMN_TITLES[TaskStatus(status)],
            "tasks": by_status[status],
            "count": counts.get(status, 0),
        }
        for status in TaskStatus.values
    ]


@organization_required
def project_detail(request: HttpRequest, ref: str) -> HttpResponse:
    project = or_404(project_get, ref)
    stats = project_stats(project)
    columns = board(project, stats["tasks"])
    return page(
        request,
        "web/dashboard/projects/detail.html",
        "projects",
        {
            "project": project,
            "stats": stats,
            "columns": columns,
            "total_tasks": sum(stats["tasks"].values()),
            "totals": {name: sum(stats[name].values()) for name in ("decisions", "features", "specs")},
            "activities": list(feed_rows(project=project)[:ACTIVITY_SHOWN]),
        },
    )
