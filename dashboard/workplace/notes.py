"""Notes: the list (text search, tag and project filters) and one note, its markdown
sanitised and its links resolved."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse

from dashboard.context import organization_required
from dashboard.workplace.common import FilterForm, or_404, page, page_of, project_field
from orchestra.templatetags.dashboard import ROW_PAGES
from tools.notes.selectors import note_get, note_list, resolve_links


class NoteFilters(FilterForm):
    q = forms.CharField(required=False, max_length=500, label="Search")
    tag = forms.CharField(required=False, max_length=50, label="Tag")
    project = project_field()


@organization_required
def note_index(request: HttpRequest) -> HttpResponse:
    form = NoteFilters(request.GET)
    if not form.is_valid():
        return page(request, "web/dashboard/notes/list.html", "notes", {"form": form, "rows": []}, status=400)
    data = form.cleaned_data
    notes = note_list(search=data["q"].strip() or None, tag=data["tag"].strip() or None, project=data["project"])
    rows = page_of(request, notes.select_related("project", "author"))
    return page(
        request,
        "web/dashboard/notes/list.html",
        "notes",
        {"form": form, "rows": rows.items, "next_cursor": rows.next_cursor, "project": data["project"]},
    )


@organization_required
def note_detail(request: HttpRequest, ref: str) -> HttpResponse:
    note = or_404(note_get, ref)
    prefetch_related_objects([note], "project", "author")
    links = []
    for link in resolve_links(note.links or []):
        if isinstance(link, dict):
            name = ROW_PAGES.get(link["type"]) if link["exists"] else None
            links.append({**link, "page": name})
        else:
            # Stored links are checked http(s) URLs; anything else is shown, not linked.
            text = str(link)
            links.append({"text": text, "url": text if urlsplit(text).scheme.lower() in ("http", "https") else ""})
    return page(
        request,
        "web/dashboard/notes/detail.html",
        "notes",
        {"note": note, "project": note.project, "links": links},
    )
