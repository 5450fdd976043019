"""Decisions: the log (filtered by status and project) and one decision with its
alternatives, discussion and supersession links."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse

from dashboard.context import organization_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_field
from tools.decisions.models import Decision, DecisionStatus
from tools.decisions.selectors import decision_discussion, decision_get, decision_list


class DecisionFilters(FilterForm):
    status = choice_field("Status", list(DecisionStatus.choices), everything="Any status")
    project = project_field()


@organization_required
def decision_index(request: HttpRequest) -> HttpResponse:
    form = DecisionFilters(request.GET)
    if not form.is_valid():
        return page(request, "web/dashboard/decisions/list.html", "decisions", {"form": form, "rows": []}, status=400)
    rows = page_of(
        request,
        decision_list(project=form.cleaned_data["project"], status=form.cleaned_data["status"] or None)
        .select_related("project")
        .defer("decision", "rationale", "context", "alternatives", "outcome"),
    )
    return page(
        request,
        "web/dashboard/decisions/list.html",
        "decisions",
        {"form": form, "rows": rows.items, "next_cursor": rows.next_cursor},
    )


def alternatives(decision: Decision) -> list[dict[str, str]]:
    """The alternatives as {"option", "why_not"}, whatever shape an old row has."""
    shown = []
    for item in decision.alternatives or []:
        if isinstance(item, dict):
            shown.append({"option": str(item.get("option", "")), "why_not": str(item.get("why_not", ""))})
        else:
            shown.append({"option": str(item), "why_not": ""})
    return shown


@organization_required
def decision_detail(request: HttpRequest, ref: str) -> HttpResponse:
    decision = or_404(decision_get, ref)
    discussion = decision_discussion(decision)
    prefetch_related_objects(discussion, "author", "agent")
    # The decision it replaced and the one that replaced it, in one query.
    linked_ids = [pk for pk in (decision.supersedes_id, getattr(decision, "successor_id", None)) if pk is not None]
    linked: dict[Any, Decision] = {
        d.pk: d for d in Decision.objects.filter(pk__in=linked_ids).only("id", "title", "status")
    }
    return page(
        request,
        "web/dashboard/decisions/detail.html",
        "decisions",
        {
            "decision": decision,
            "project": decision.project if decision.project_id else None,
            "alternatives": alternatives(decision),
            "discussion": discussion,
            "supersedes": linked.get(decision.supersedes_id),
            "superseded_by": linked.get(getattr(decision, "successor_id", None)),
        },
    )
