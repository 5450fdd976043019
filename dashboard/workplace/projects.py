"""Projects: the list with counts, and a project's page with its task board."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from dashboard.context import organization_required
from dashboard.workplace.activity import feed_rows
from dashboard.workplace.board import STATUS_CHOICES, BoardFilters, board_columns
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of
from tools.decisions.models import Decision
from tools.features.models import Feature
from tools.projects.models import Project, ProjectStatus, ProjectTally, TallyKind
from tools.projects.selectors import project_get, project_list, project_stats
from tools.specs.models import Spec
from tools.tasks.selectors import OPEN

ACTIVITY_SHOWN = 10


def _count(rows: QuerySet[Any]) -> Coalesce:
    """A correlated COUNT(*) of `rows` (already filtered on project=OuterRef("pk"))."""
    counted = rows.order_by().values("project").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _tallied(kind: str, buckets: Iterable[str] | None = None) -> Coalesce:
    """The sum of a project's tallies of `kind` (those `buckets`, or all): a few rows
    whatever the project's size (ProjectTally)."""
    rows = ProjectTally.objects.filter(project=OuterRef("pk"), kind=kind)
    if buckets is not None:
        rows = rows.filter(bucket__in=list(buckets))
    summed = rows.order_by().values("project").annotate(s=Sum("n")).values("s")
    return Coalesce(Subquery(summed, output_field=IntegerField()), 0)


def projects_with_counts(*, status: str) -> QuerySet[Project]:
    """Projects with the figures a list shows, in one query whatever their number."""
    mine = OuterRef("pk")
    return project_list(status=status).annotate(
        open_tasks=_tallied(TallyKind.TASKS, OPEN),
        total_tasks=_tallied(TallyKind.TASKS),
        memory_count=_tallied(TallyKind.MEMORIES, ["active"]),
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


@organization_required
def project_detail(request: HttpRequest, ref: str) -> HttpResponse:
    """The project's page: its figures, the task board (filtered by assignee, label and
    priority) and its latest activity. `?fragment=board` answers the board alone: the
    board's script fetches it when an agent (or another tab) changes a task."""
    project = or_404(project_get, ref)
    filters = BoardFilters(request.GET, organization=request.organization)  # type: ignore[attr-defined]
    valid = filters.is_valid()
    fragment = request.GET.get("fragment") == "board"
    context: dict[str, Any] = {
        "project": project,
        "filters": filters,
        "filtering": valid and filters.active,
        "status_choices": STATUS_CHOICES,
        "today": timezone.localdate(),
    }
    if not fragment:
        stats = project_stats(project)
        context.update(
            stats=stats,
            total_tasks=sum(stats["tasks"].values()),
            totals={name: sum(stats[name].values()) for name in ("decisions", "features", "specs")},
            activities=list(feed_rows(project=project)[:ACTIVITY_SHOWN]),
        )
    counts = None if fragment else context["stats"]["tasks"]
    context["columns"] = board_columns(project, counts=counts, **filters.cleaned_data) if valid else []
    status = 200 if valid else 400
    if fragment:
        return page(request, "web/dashboard/projects/_board.html", "projects", context, status=status)
    return page(request, "web/dashboard/projects/detail.html", "projects", context, status=status)
