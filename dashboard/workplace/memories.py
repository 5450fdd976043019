"""Memories: the list, newest first, or the real hybrid search (memory.search) when a
query is given, filtered by scope and project; archived entries only on request."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.db.models.functions import Left
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from dashboard.context import MANAGERS, can_manage, organization_required, role_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_field
from memory.duplicates import CHECKED_PER_REQUEST, duplicate_pairs
from memory.models import Memory, Scope
from memory.search import HEAVY, Hit, search
from orchestra.actor import Actor
from orchestra.errors import not_found
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
    return page(request, "web/dashboard/memories/detail.html", "memories", {"memory": or_404(memory_get, ref)})


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
