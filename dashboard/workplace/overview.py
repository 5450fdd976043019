"""The organization's overview (counts, trends, active projects, recent activity), and
the landing page people who are not signed in see at the same address."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.selectors import meters_context
from dashboard.context import organization_required
from dashboard.workplace import trends
from dashboard.workplace.activity import feed_rows
from dashboard.workplace.charts import Series, bar_chart, line_chart
from dashboard.workplace.common import page
from dashboard.workplace.projects import projects_with_counts
from tools.agents.models import Agent
from tools.decisions.models import Decision, DecisionStatus
from tools.features.models import Feature, FeatureStatus
from tools.projects.models import Project, ProjectStatus
from tools.tasks.selectors import OPEN, live_tasks

PROJECTS_SHOWN = 8
ACTIVITY_SHOWN = 15


def organization_counts(*, memories: int) -> dict[str, int]:
    """The overview's figures for the organization in scope: one query per table
    (`memories`, the unarchived memories held, comes from the growth chart's query)."""
    tasks = live_tasks().aggregate(
        open=Count("id", filter=Q(status__in=OPEN)), in_progress=Count("id", filter=Q(status="in_progress"))
    )
    decisions = Decision.objects.aggregate(
        total=Count("id"), accepted=Count("id", filter=Q(status=DecisionStatus.ACCEPTED))
    )
    features = Feature.objects.aggregate(
        total=Count("id"), in_progress=Count("id", filter=Q(status=FeatureStatus.IN_PROGRESS))
    )
    return {
        "projects": Project.objects.filter(status=ProjectStatus.ACTIVE).count(),
        "open_tasks": tasks["open"],
        "tasks_in_progress": tasks["in_progress"],
        "memories": memories,
        "decisions": decisions["total"],
        "accepted_decisions": decisions["accepted"],
        "features": features["total"],
        "features_in_progress": features["in_progress"],
        "agents": Agent.objects.filter(deleted_at__isnull=True).count(),
    }


def trend_charts(span: trends.Window, held: list[int]) -> dict[str, Any]:
    """The overview's three charts over `span`: two more queries (`held`, the
    memories held each day, is read once for the chart and the tile)."""
    days = len(span.days)
    tasks = trends.tasks_per_day(span)
    opened = Series("opened", "opened", tasks["opened"])
    completed = Series("completed", "completed", tasks["completed"])
    agents = trends.activity_per_agent(span)
    busiest = agents[0] if agents else None
    return {
        "tasks_chart": line_chart(
            "chart-tasks",
            f"Tasks opened and completed per day, last {days} days",
            f"{opened.total} task{'s' if opened.total != 1 else ''} opened and {completed.total} completed in the "
            f"last {days} days; at most {max(opened.values, default=0)} opened and "
            f"{max(completed.values, default=0)} completed in one day.",
            span.days,
            [opened, completed],
        ),
        "agents_chart": bar_chart(
            "chart-agents",
            f"Activity per agent, last {days} days",
            (
                f"{sum(a.count for a in agents)} activity entries; the most by {busiest.name} ({busiest.count})."
                if busiest
                else f"No activity in the last {days} days."
            ),
            # The activity page has no agent filter yet: the bars are not links.
            [(a.name, a.count, "") for a in agents],
        ),
        "memories_chart": line_chart(
            "chart-memories",
            f"Memories held, last {days} days",
            f"{held[0] if held else 0} memories {days} days ago, {held[-1] if held else 0} today "
            f"({(held[-1] - held[0]) if held else 0:+d}).",
            span.days,
            [Series("memories", "memories", held)],
        ),
    }


def home(request: HttpRequest) -> HttpResponse:
    """The overview for people signed in; for everyone else, what Orchestra is."""
    if not request.user.is_authenticated:
        return render(request, "web/landing.html", {"section": "landing"})
    return overview(request)


@organization_required
def overview(request: HttpRequest) -> HttpResponse:
    span = trends.window()
    held = trends.memories_per_day(span)
    projects = list(
        projects_with_counts(status=ProjectStatus.ACTIVE).order_by("-updated_at", "-id")[: PROJECTS_SHOWN + 1]
    )
    return page(
        request,
        "web/dashboard/home.html",
        "overview",
        {
            "counts": organization_counts(memories=held[-1]),
            "projects": projects[:PROJECTS_SHOWN],
            "more_projects": len(projects) > PROJECTS_SHOWN,
            "activities": list(feed_rows()[:ACTIVITY_SHOWN]),
            **trend_charts(span, held),
            # The plan's usage meters (the Billing page shows the same partial); a
            # downgraded organization sees here what is over its limits.
            **meters_context(request.organization),  # type: ignore[attr-defined]
        },
    )
