"""Specs: a project's specs, and one spec at its latest or any earlier version."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse

from dashboard.context import organization_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page
from tools.projects.selectors import project_get
from tools.specs.models import SpecStatus
from tools.specs.selectors import spec_get, spec_list, version_get, versions

SPECS_SHOWN = 200


class SpecFilters(FilterForm):
    status = choice_field("Status", list(SpecStatus.choices), everything="Any status")


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
        "projects",
        {
            "spec": spec,
            "project": spec.project,
            "version": version,
            "versions": history,
            "is_latest": version.number == spec.version,
        },
    )
