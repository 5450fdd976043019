"""Memories: the list, newest first, or the real hybrid search (memory.search) when a
query is given, filtered by scope and project; archived entries only on request. People
delete a memory and mark one superseded by a newer one (memory.services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.db.models.functions import Left
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboard.context import MANAGERS, can_manage, organization_required, person_actor, role_required, writer_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_field
from dashboard.workplace.forms import SupersedeForm
from memory.duplicates import CHECKED_PER_REQUEST, duplicate_pairs
from memory.models import Memory, Scope
from memory.search import HEAVY, Hit, search
from memory.services import memory_delete, memory_supersede
from orchestra.actor import Actor
from orchestra.errors import ToolError, not_found
from orchestra.ids import parse_uuid

EXCERPT_CHARS = 600
SEARCH_LIMIT = 50


class MemoryFilters(FilterForm):
    q = forms.CharField(required=False, max_length=2000, label="Search")
    scope = choice_field("Scope", list(Scope.choices), everything="Any scope")
    project = project_field()
    archived = forms.BooleanField(required=False, label="Include archived")


def _item(memory: Memory, text: str, hit: Hit[Memory] | None = None) -> dict[str, Any]:
    """A list row: the start of the content (the whole entry is on its own page)."""
    return {"memory": memory, "text": text[:EXCERPT_CHARS], "truncated": len(text) > EXCERPT_CHARS, "hit": hit}


def memory_rows(*, scope: str | None, project: Any, archived: bool) -> QuerySet[Memory]:
    rows = Memory.objects.all()
    if not archived:
        rows = rows.filter(archived=False)
    if scope:
        rows = rows.filter(scope=scope)
    if project is not None:
        rows = rows.filter(project=project)
    return rows


@organization_required
def memory_index(request: HttpRequest) -> HttpResponse:
    form = MemoryFilters(request.GET)
    context: dict[str, Any] = {"form": form, "rows": [], "searched": False, "can_manage": can_manage(request)}
    if not form.is_valid():
        return page(request, "web/dashboard/memories/list.html", "memories", context, status=400)
    data = form.cleaned_data
    rows = memory_rows(scope=data["scope"], project=data["project"], archived=data["archived"])
    related = ("agent", "project", "session")
    query = data["q"].strip()
    if query:
        # The same engine as search_memory: meaning and words, fused into one ranking.
        hits = search(rows.select_related(*related), query, limit=SEARCH_LIMIT)
        items = [_item(hit.row, hit.row.content, hit) for hit in hits]
        context.update(query=query, searched=True)
    else:
        listed = page_of(
            request,
            rows.select_related(*related).defer("content", *HEAVY).annotate(excerpt=Left("content", EXCERPT_CHARS + 1)),
        )
        items = [_item(memory, memory.excerpt) for memory in listed.items]
        context["next_cursor"] = listed.next_cursor
    context["rows"] = items
    return page(request, "web/dashboard/memories/list.html", "memories", context)


def memory_get(ref: str) -> Memory:
    uid = parse_uuid(ref)
    memory = (
        Memory.objects.filter(pk=uid).select_related("agent", "project", "session", "author").defer(*HEAVY).first()
        if uid is not None
        else None
    )
    if memory is None:
        raise not_found("memory", ref)
    return memory


@organization_required
def memory_detail(request: HttpRequest, ref: str) -> HttpResponse:
    return _detail(request, or_404(memory_get, ref))


def _detail(
    request: HttpRequest, memory: Memory, *, supersede_form: SupersedeForm | None = None, status: int = 200
) -> HttpResponse:
    # The memories it replaced and that replaced it, in one query.
    linked_ids = [pk for pk in (memory.supersedes_id, memory.superseded_by_id) if pk is not None]
    linked: dict[Any, Memory] = {m.pk: m for m in Memory.objects.filter(pk__in=linked_ids).only("id", "content")}
    return page(
        request,
        "web/dashboard/memories/detail.html",
        "memories",
        {
            "memory": memory,
            "supersedes": linked.get(memory.supersedes_id),
            "superseded_by": linked.get(memory.superseded_by_id),
            "supersede_form": supersede_form or SupersedeForm(),
        },
        status=status,
    )


@require_POST
@writer_required
def memory_delete_view(request: HttpRequest, ref: str) -> HttpResponse:
    """Delete the memory, as delete_memory: its bytes go back to the plan."""
    memory = or_404(memory_get, ref)
    memory_delete(actor=person_actor(request), memory=memory)
    messages.success(request, "Memory deleted.")
    return redirect("web:memories")


@require_POST
@writer_required
def memory_supersede_view(request: HttpRequest, ref: str) -> HttpResponse:
    """Mark the memory superseded by a newer one: search ranks it lower from now on."""
    memory = or_404(memory_get, ref)
    form = SupersedeForm(request.POST)
    if not form.is_valid():
        return _detail(request, memory, supersede_form=form, status=400)
    try:
        memory_supersede(actor=person_actor(request), memory=memory, by=form.cleaned_data["by"])
    except ToolError as exc:
        form.refuse(exc)
        return _detail(request, memory, supersede_form=form, status=exc.http_status)
    messages.success(request, "Marked as superseded.")
    return redirect("web:memory", memory.pk)


@never_cache
@role_required(*MANAGERS)
def memory_duplicates(request: HttpRequest) -> HttpResponse:
    """Near-duplicate memories already stored: GET lists them (a dry run, changing
    nothing), POST merges them (archived with duplicate_of, tags joined, audited under
    the person's name). Owners and admins; at most CHECKED_PER_REQUEST checked a time."""
    merge = request.method == "POST"
    actor = Actor(user_id=request.user.pk, tool="dashboard")
    pairs = list(duplicate_pairs(Memory.objects.all(), merge=merge, actor=actor, limit=CHECKED_PER_REQUEST))
    if merge:
        messages.success(request, f"Merged {len(pairs)} near-duplicate memor{'y' if len(pairs) == 1 else 'ies'}.")
        return redirect("web:memory-duplicates")
    return page(
        request,
        "web/dashboard/memories/duplicates.html",
        "memories",
        {"pairs": pairs, "checked": CHECKED_PER_REQUEST},
    )
