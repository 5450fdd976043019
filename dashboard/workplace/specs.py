"""Specs: every project's specs, one project's, one spec at its latest or any earlier
version, the line diff between any two versions, and the editor people write them with
(an edit of title or content is a new version, through the services create_spec and
update_spec call)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from dashboard.context import organization_required, person_actor, writer_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_field
from dashboard.workplace.diffs import line_diff
from dashboard.workplace.forms import DashboardForm, SpecEditForm, SpecForm
from dashboard.workplace.preview import preview_of
from orchestra.errors import ToolError
from tools.projects.models import Project
from tools.projects.selectors import project_get
from tools.specs.models import Spec, SpecStatus, SpecVersion
from tools.specs.selectors import spec_get, spec_list, version_get, versions
from tools.specs.services import spec_create, spec_update

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


def _editor(
    request: HttpRequest, form: SpecForm, *, project: Project, spec: Spec | None = None, status: int = 200
) -> HttpResponse:
    """The spec editor, with the server-rendered preview when Preview was pressed."""
    return page(
        request,
        "web/dashboard/specs/edit.html",
        "specs",
        {"form": form, "project": project, "spec": spec, "preview": preview_of(form)},
        status=status,
    )


@never_cache
@writer_required
def spec_new(request: HttpRequest, ref: str) -> HttpResponse:
    project = or_404(project_get, ref)
    if request.method != "POST":
        return _editor(request, SpecForm(initial={"status": SpecStatus.DRAFT}), project=project)
    form = SpecForm(request.POST)
    if not form.is_valid() or form.wants_preview():
        return _editor(request, form, project=project, status=200 if form.is_valid() else 400)
    data = form.cleaned_data
    try:
        spec = spec_create(
            actor=person_actor(request),
            project=project,
            title=data["title"],
            content=data["content"],
            status=data["status"],
        )
    except ToolError as exc:
        form.refuse(exc)
        return _editor(request, form, project=project, status=exc.http_status)
    messages.success(request, "Spec created (version 1).")
    return redirect("web:spec", spec.pk)


@never_cache
@writer_required
def spec_edit(request: HttpRequest, ref: str) -> HttpResponse:
    spec = or_404(spec_get, ref)
    prefetch_related_objects([spec], "project")
    if request.method != "POST":
        latest = version_get(spec)
        initial = {"title": latest.title, "content": latest.content, "status": spec.status}
        return _editor(request, SpecEditForm(initial=initial), project=spec.project, spec=spec)
    form = SpecEditForm(request.POST)
    if not form.is_valid() or form.wants_preview():
        return _editor(request, form, project=spec.project, spec=spec, status=200 if form.is_valid() else 400)
    data = form.cleaned_data
    before = (spec.version, spec.status)
    try:
        # As update_spec does: a new title or content is version n+1, a status alone is not.
        updated = spec_update(
            actor=person_actor(request),
            spec=spec,
            title=data["title"],
            content=data["content"],
            status=data["status"],
            change_note=data["change_note"] or None,
        )
    except ToolError as exc:
        form.refuse(exc)
        return _editor(request, form, project=spec.project, spec=spec, status=exc.http_status)
    if updated.version != before[0]:
        messages.success(request, f"Saved as version {updated.version}.")
    elif updated.status != before[1]:
        messages.success(request, f"Status changed to {updated.status}.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("web:spec", updated.pk)


class DiffForm(DashboardForm):
    """Two versions to compare, by number (the version picker)."""

    old = forms.TypedChoiceField(coerce=int, label="From")
    new = forms.TypedChoiceField(coerce=int, label="To")

    def __init__(self, *args: Any, numbers: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(n), f"v{n}") for n in numbers]
        for name in ("old", "new"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices


@organization_required
def spec_diff(request: HttpRequest, ref: str) -> HttpResponse:
    """The line diff between any two versions (default: the latest and the one before)."""
    spec = or_404(spec_get, ref)
    prefetch_related_objects([spec], "project")
    # Versions are only ever inserted, numbered 1..spec.version: every one can be picked.
    default = {"old": str(max(spec.version - 1, 1)), "new": str(spec.version)}
    form = DiffForm(request.GET or default, numbers=list(range(spec.version, 0, -1)))
    context: dict[str, Any] = {"spec": spec, "project": spec.project, "form": form}
    if not form.is_valid():
        return page(request, "web/dashboard/specs/diff.html", "specs", context, status=400)
    wanted = [form.cleaned_data["old"], form.cleaned_data["new"]]
    compared = {
        v.number: v for v in SpecVersion.objects.filter(spec=spec, number__in=wanted).select_related("author", "agent")
    }
    old, new = compared[wanted[0]], compared[wanted[1]]
    context.update(old=old, new=new, diff=line_diff(old.content, new.content), title_changed=old.title != new.title)
    return page(request, "web/dashboard/specs/diff.html", "specs", context)
