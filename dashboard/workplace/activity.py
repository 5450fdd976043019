"""The activity feed: newest first, filtered by project or type, live over a WebSocket
(tools.activity.live) on its first page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from dashboard.context import organization_required
from dashboard.workplace.common import FilterForm, page, page_of, project_field
from tools.activity.models import Activity
from tools.activity.selectors import activity_list


def feed_rows(*, project: Any = None, type: str | None = None) -> QuerySet[Activity]:
    """Activity rows with what a feed row shows (actor, agent, project), newest first."""
    return (
        activity_list(project=project, type=type)
        .select_related("actor_user", "agent", "project")
        .order_by("-created_at", "-id")
    )


class ActivityFilters(FilterForm):
    project = project_field()
    type = forms.CharField(required=False, max_length=80, label="Type")


@organization_required
def activity_index(request: HttpRequest) -> HttpResponse:
    form = ActivityFilters(request.GET)
    if not form.is_valid():
        return page(request, "web/dashboard/activity/list.html", "activity", {"form": form, "rows": []}, status=400)
    project = form.cleaned_data["project"]
    rows = page_of(request, feed_rows(project=project, type=form.cleaned_data["type"].strip() or None))
    first_page = not request.GET.get("cursor")
    return page(
        request,
        "web/dashboard/activity/list.html",
        "activity",
        {
            "form": form,
            "rows": rows.items,
            "next_cursor": rows.next_cursor,
            # Live rows are prepended on the first page only, and only unfiltered by
            # type (the socket filters by project).
            "live": first_page and not form.cleaned_data["type"],
            "project": project,
        },
    )
