"""The organization's overview: counts, active projects, recent activity."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse

from billing.selectors import meters_context
from dashboard.context import organization_required
from dashboard.workplace.activity import feed_rows
from dashboard.workplace.common import page
from dashboard.workplace.projects import projects_with_counts
from memory.models import Memory
from tools.agents.models import Agent
from tools.decisions.models import Decision, DecisionStatus
from tools.features.models import Feature, FeatureStatus
from tools.projects.models import Project, ProjectStatus
from tools.tasks.selectors import OPEN, live_tasks

PROJECTS_SHOWN = 8
ACTIVITY_SHOWN = 15


def organization_counts() -> dict[str, int]:
    """The overview's figures for the organization in scope: one query per table."""
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
        "memories": Memory.objects.filter(archived=False).count(),
        "decisions": decisions["total"],
        "accepted_decisions": decisions["accepted"],
        "features": features["total"],
        "features_in_progress": features["in_progress"],
        "agents": Agent.objects.filter(deleted_at__isnull=True).count(),
    }


@organization_required
def home(request: HttpRequest) -> HttpResponse:
    projects = list(
        projects_with_counts(status=ProjectStatus.ACTIVE).order_by("-updated_at", "-id")[: PROJECTS_SHOWN + 1]
    )
    return page(
        request,
        "web/dashboard/home.html",
        "overview",
        {
            "counts": organization_counts(),
            "projects": projects[:PROJECTS_SHOWN],
            "more_projects": len(projects) > PROJECTS_SHOWN,
            "activities": list(feed_rows()[:ACTIVITY_SHOWN]),
            # The plan's usage meters (the Billing page shows the same partial); a
            # downgraded organization sees here what is over its limits.
            **meters_context(request.organization),  # type: ignore[attr-defined]
        },
    )
