"""Notes: the list (text search, tag and project filters), one note (its markdown
sanitised, its links resolved), and the editor people write and change them with
(through the services create_note and update_note call)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from dashboard.context import organization_required, person_actor, writer_required
from dashboard.workplace.common import FilterForm, or_404, page, page_of, project_choices, project_field
from dashboard.workplace.forms import NewNoteForm, NoteForm
from dashboard.workplace.preview import preview_of
from orchestra.errors import ToolError
from orchestra.templatetags.dashboard import ROW_PAGES
from tools.notes.models import Note
from tools.notes.selectors import note_get, note_list, resolve_links
from tools.notes.services import note_create, note_update


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


def _editor(request: HttpRequest, form: NoteForm, *, note: Note | None = None, status: int = 200) -> HttpResponse:
    """The note editor, with the server-rendered preview when Preview was pressed."""
    return page(
        request,
        "web/dashboard/notes/edit.html",
        "notes",
        {"form": form, "note": note, "project": note.project if note else None, "preview": preview_of(form)},
        status=status,
    )


@never_cache
@writer_required
def note_new(request: HttpRequest) -> HttpResponse:
    projects = project_choices()[1:]
    if request.method != "POST":
        return _editor(request, NewNoteForm(initial={"project": request.GET.get("project", "")}, projects=projects))
    form = NewNoteForm(request.POST, projects=projects)
    if not form.is_valid() or form.wants_preview():
        return _editor(request, form, status=200 if form.is_valid() else 400)
    data = form.cleaned_data
    try:
        note = note_create(
            actor=person_actor(request),
            title=data["title"],
            content=data["content"],
            tags=data["tags"],
            project=data["project"],
        )
    except ToolError as exc:
        form.refuse(exc)
        return _editor(request, form, status=exc.http_status)
    messages.success(request, "Note created.")
    return redirect("web:note", note.pk)


@never_cache
@writer_required
def note_edit(request: HttpRequest, ref: str) -> HttpResponse:
    note = or_404(note_get, ref)
    if request.method != "POST":
        return _editor(
            request, NoteForm(initial={"title": note.title, "content": note.content, "tags": note.tags}), note=note
        )
    form = NoteForm(request.POST)
    if not form.is_valid() or form.wants_preview():
        return _editor(request, form, note=note, status=200 if form.is_valid() else 400)
    data = form.cleaned_data
    # Only what changed is passed: the activity row lists exactly the changed fields.
    changes = {
        field: data[field]
        for field, current in (("title", note.title), ("content", note.content), ("tags", note.tags))
        if data[field] != current
    }
    if not changes:
        messages.info(request, "Nothing changed.")
        return redirect("web:note", note.pk)
    try:
        note_update(actor=person_actor(request), note=note, **changes)
    except ToolError as exc:
        form.refuse(exc)
        return _editor(request, form, note=note, status=exc.http_status)
    messages.success(request, "Note saved.")
    return redirect("web:note", note.pk)
