"""What every dashboard page shares: 404s that look alike, pages of rows, filter forms,
and the organization's projects for filter menus.

Dashboard pages read through the domains' selectors and act through the same services
agents' tools call (owners, admins and members; viewers read). They run inside
`organization_required`, so every query below is already limited to the organization
in scope; a row of another organization answers 404 exactly like a missing one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import BadRequest
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.context import can_write
from orchestra.errors import InvalidArguments, NotFound
from orchestra.pagination import Page, paginate
from tools.projects.models import Project
from tools.projects.selectors import project_get

T = TypeVar("T")

PAGE_SIZE = 50
# How many projects a filter menu lists (an organization with more types the slug).
PROJECT_CHOICES_LIMIT = 200


def or_404(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a selector; its not-found (a missing row, another organization's row, a
    malformed id) becomes the one 404 page."""
    try:
        return fn(*args, **kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def page_of(request: HttpRequest, rows: QuerySet[Any], *, limit: int = PAGE_SIZE) -> Page:
    """One keyset page of `rows` (newest first) from ?cursor=; a forged cursor is a 400."""
    try:
        return paginate(rows, limit=limit, cursor=request.GET.get("cursor") or None)
    except InvalidArguments as exc:
        raise BadRequest("that page link is not valid: start again from the first page") from exc


def page(request: HttpRequest, template: str, section: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Render a dashboard page; `section` marks the current item of the main menu and
    `can_write` says whether to show the buttons that change the workplace."""
    return render(request, template, {"section": section, "can_write": can_write(request), **context}, status=status)


def project_choices() -> list[tuple[str, str]]:
    """(slug, name) of the organization's projects, active first, for filter menus."""
    rows = Project.objects.order_by("status", "name").values_list("slug", "name")[:PROJECT_CHOICES_LIMIT]
    return [("", "All projects"), *((slug, name) for slug, name in rows)]


class FilterForm(forms.Form):
    """A GET form of list filters. Unknown choices and unknown projects are errors the
    page shows (status 400), never silently ignored."""

    def __init__(self, data: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(data, *args, **kwargs)
        if "project" in self.fields:
            field = self.fields["project"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = project_choices()

    def clean_project(self) -> Project | None:
        ref = self.cleaned_data.get("project") or ""
        if not ref:
            return None
        try:
            return project_get(ref)
        except NotFound as exc:
            raise forms.ValidationError("no such project") from exc

    def filters(self) -> dict[str, Any]:
        """The cleaned filters, or raises ValueError when the form is not valid."""
        if not self.is_valid():
            raise ValueError("invalid filters")
        return self.cleaned_data


def project_field() -> forms.ChoiceField:
    # Choices are filled per request (FilterForm.__init__). A typed slug that is not in
    # the menu (an organization with more projects than it lists) is still looked up.
    return _OpenChoiceField(required=False, label="Project")


class _OpenChoiceField(forms.ChoiceField):
    def valid_value(self, value: Any) -> bool:
        return True


def choice_field(label: str, choices: list[tuple[str, str]], *, everything: str = "All") -> forms.ChoiceField:
    return forms.ChoiceField(required=False, label=label, choices=[("", everything), *choices])
