"""Specs: every project's specs, one project's, and one spec at its latest or any
earlier version."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse

from dashboard.context import organization_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_field
from tools.projects.selectors import project_get
from tools.specs.models import SpecStatus
from tools.specs.selectors import spec_get, spec_list, version_get, versions

SPECS_SHOWN = 200


class SpecFilters(FilterForm):
    status = choice_field("Status", list(SpecStatus.choices), everything="Any status")


class AllSpecFilters(SpecFilters):
    project = project_field()


@organization_required
def spec_index(request: HttpRequest) -> HttpResponse:
    """The organization's specs across projects, newest first, a page at a time."""
    form = AllSpecFilters(request.GET)
    if not form.is_valid():
        return page(request, "web/dashboard/specs/index.html", "specs", {"form": form, "rows": []}, status=400)
    data = form.cleaned_data
    rows = page_of(request, spec_list(project=data["project"], status=data["status"] or None).select_related("project"))
    context = {"form": form, "rows": rows.items, "next_cursor": rows.next_cursor}
    return page(request, "web/dashboard/specs/index.html", "specs", context)


@organization_required
def project_specs(request: HttpRequest, ref: str) -> HttpResponse:
    project = or_404(project_get, ref)
    form = SpecFilters(request.GET)
    context = {"project": project, "form": form, "rows": []}
    if not form.is_valid():
        return page(request, "web/dashboard/specs/list.html", "projects", context, status=400)
    rows = spec_list(project=project, status=form.cleaned_data["status"] or None).order_by("title", "id")
    listed = list(rows.select_related("created_by")[: SPECS_SHOWN + 1])
    context.update(rows=listed[:SPECS_SHOWN], more=len(listed) > SPECS_SHOWN)
    return page(request, "web/dashboard/specs/list.html", "projects", context)


@organization_required
def spec_detail(request: HttpRequest, ref: str, number: int | None = None) -> HttpResponse:
    spec = or_404(spec_get, ref)
    version = or_404(version_get, spec, number)
    history = versions(spec)
    prefetch_related_objects([spec], "project")
    prefetch_related_objects([version, *history], "author", "agent")
    return page(
        request,
        "web/dashboard/specs/detail.html",
        "specs",
        {
            "spec": spec,
            "project": spec.project,
            "version": version,
            "versions": history,
            "is_latest": version.number == spec.version,
        },
    )
