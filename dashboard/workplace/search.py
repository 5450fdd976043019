"""The header's search box: one query across tasks, notes, decisions, specs and
memories, the results grouped by kind (docs/decisions/0023-find-and-see.md).

Memories and decisions go through the hybrid engine agents' search tools use
(memory.search: meaning and words fused); notes through their full-text index
(note_list); tasks and specs, which have no search index, by their words in title (and
a task's description, a spec's current text) with ILIKE. Every kind is capped at
PER_KIND rows and the query at QUERY_CHARS, so a search costs a fixed number of
bounded queries whatever the organization holds. The view runs inside the
organization's tenant scope: another organization's rows are never candidates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Left
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from dashboard.context import organization_required
from dashboard.workplace.common import page
from memory.models import Memory
from memory.search import HEAVY, search
from orchestra.markdown import markdown_excerpt
from tools.decisions.selectors import decision_search_rows
from tools.notes.selectors import note_list
from tools.specs.models import Spec, SpecVersion
from tools.tasks.selectors import live_tasks

QUERY_CHARS = 200
# Words a task or spec must all hold (the rest of a long query is ignored for them).
MAX_WORDS = 8
PER_KIND = 8
EXCERPT_CHARS = 160
MEMORY_TITLE_CHARS = 80
# Characters of a long text read to make an excerpt (its start is what is shown).
READ_CHARS = 1000
# The hybrid engine ranks every candidate and hides none (memory.search): a box that
# mixes kinds shows only rows with some evidence, by meaning or by words (0-1 scale,
# docs/decisions/0017-ranking.md). The memories page, searched for the same words,
# still shows the whole ranking.
MIN_SCORE = 0.2


@dataclass
class Result:
    title: str
    url: str
    excerpt: str = ""
    meta: str = ""


@dataclass
class Group:
    kind: str
    label: str
    results: list[Result] = field(default_factory=list)
    # The kind's own list, searched for the same words, when it has one.
    more_url: str = ""


class SearchForm(forms.Form):
    q = forms.CharField(max_length=QUERY_CHARS, label="Search", strip=True)


def _words(query: str) -> list[str]:
    return query.split()[:MAX_WORDS]


def _every_word(words: list[str], *fields: str) -> Q:
    """Rows holding every word in at least one of `fields` (case-insensitive)."""
    condition = Q()
    for word in words:
        either = Q()
        for name in fields:
            either |= Q(**{f"{name}__icontains": word})
        condition &= either
    return condition


def find_tasks(query: str, *, limit: int = PER_KIND) -> list[Result]:
    rows: QuerySet[Any] = (
        live_tasks()
        .filter(_every_word(_words(query), "title", "description"))
        .select_related("project")
        .only("id", "title", "status", "project__name", "project__slug", "updated_at")
        .annotate(start=Left("description", READ_CHARS))
        .order_by("-updated_at", "-id")[:limit]
    )
    return [
        Result(
            task.title,
            reverse("web:task", args=[task.pk]),
            markdown_excerpt(task.start, EXCERPT_CHARS),
            f"{task.project.name} · {task.get_status_display()}",
        )
        for task in rows
    ]


def find_specs(query: str, *, limit: int = PER_KIND) -> list[Result]:
    words = _words(query)
    current = SpecVersion.objects.filter(spec=OuterRef("pk"), number=OuterRef("version"))
    rows = (
        Spec.objects.filter(_every_word(words, "title") | Q(Exists(current.filter(_every_word(words, "content")))))
        .select_related("project")
        .order_by("-updated_at", "-id")[:limit]
    )
    return [
        Result(spec.title, reverse("web:spec", args=[spec.slug]), "", f"{spec.project.name} · v{spec.version}")
        for spec in rows
    ]


def find_notes(query: str, *, limit: int = PER_KIND) -> list[Result]:
    rows = note_list(search=query).select_related("project").order_by("-updated_at", "-id")[:limit]
    return [
        Result(
            note.title,
            reverse("web:note", args=[note.pk]),
            markdown_excerpt(note.excerpt, EXCERPT_CHARS),  # type: ignore[attr-defined]  # note_list's annotation
            note.project.name if note.project else "",
        )
        for note in rows
    ]


def find_decisions(query: str, *, limit: int = PER_KIND) -> list[Result]:
    hits = search(decision_search_rows().select_related("project"), query, limit=limit, min_score=MIN_SCORE)
    return [
        Result(
            hit.row.title,
            reverse("web:decision", args=[hit.row.pk]),
            markdown_excerpt(hit.row.decision[:READ_CHARS], EXCERPT_CHARS),
            " · ".join(p for p in (hit.row.project.name if hit.row.project else "", hit.row.status) if p),
        )
        for hit in hits
    ]


def find_memories(query: str, *, limit: int = PER_KIND) -> list[Result]:
    rows = Memory.objects.filter(archived=False).select_related("agent", "project").defer(*HEAVY)
    hits = search(rows, query, limit=limit, min_score=MIN_SCORE)
    results = []
    for hit in hits:
        # A memory has no title: its first words are one, the rest (if any) the excerpt.
        title = markdown_excerpt(hit.row.content[:READ_CHARS], MEMORY_TITLE_CHARS)
        more = markdown_excerpt(hit.row.content[:READ_CHARS], EXCERPT_CHARS)
        meta = " · ".join(p for p in (f"{hit.row.scope} memory", hit.row.agent.name if hit.row.agent else "") if p)
        results.append(Result(title, reverse("web:memory", args=[hit.row.pk]), more if more != title else "", meta))
    return results


def search_everything(query: str) -> list[Group]:
    """Every kind's best PER_KIND rows for `query`, in a fixed order of kinds."""
    q = urlencode({"q": query})
    return [
        Group("tasks", "Tasks", find_tasks(query)),
        Group("notes", "Notes", find_notes(query), f"{reverse('web:notes')}?{q}"),
        Group("decisions", "Decisions", find_decisions(query)),
        Group("specs", "Specs", find_specs(query)),
        Group("memories", "Memories", find_memories(query), f"{reverse('web:memories')}?{q}"),
    ]


@organization_required
def search_page(request: HttpRequest) -> HttpResponse:
    """GET /search/?q=: the results grouped by kind. An empty query shows the form; a
    query over QUERY_CHARS is refused (400) before anything is searched."""
    if not request.GET.get("q", "").strip():
        return page(request, "web/dashboard/search.html", "search", {"form": SearchForm(), "groups": []})
    form = SearchForm(request.GET)
    if not form.is_valid():
        return page(request, "web/dashboard/search.html", "search", {"form": form, "groups": []}, status=400)
    query = form.cleaned_data["q"]
    groups = search_everything(query)
    return page(
        request,
        "web/dashboard/search.html",
        "search",
        {"form": form, "query": query, "groups": groups, "total": sum(len(g.results) for g in groups)},
    )
