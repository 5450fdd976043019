"""Decisions: the log (filtered by status and project), one decision with its
alternatives, discussion and supersession links, and what people change on it: status,
outcome and the discussion (through the service update_decision calls)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard.context import organization_required, person_actor, writer_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_field
from dashboard.workplace.forms import DecisionCommentForm, DecisionStatusForm
from orchestra.errors import ToolError
from tools.decisions.models import TRANSITIONS, Decision, DecisionStatus
from tools.decisions.selectors import decision_discussion, decision_get, decision_list
from tools.decisions.services import decision_update


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
    return _detail(request, decision)


def _detail(
    request: HttpRequest,
    decision: Decision,
    *,
    status_form: DecisionStatusForm | None = None,
    comment_form: DecisionCommentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The decision's page, with the forms of a refused change (and their errors) if any."""
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
            "status_form": status_form or DecisionStatusForm(decision=decision),
            "comment_form": comment_form or DecisionCommentForm(),
            "final": not TRANSITIONS[decision.status],
        },
        status=status,
    )


@require_POST
@writer_required
def decision_status(request: HttpRequest, ref: str) -> HttpResponse:
    """Change status (along the allowed transitions) and/or outcome, as update_decision."""
    decision = or_404(decision_get, ref)
    form = DecisionStatusForm(request.POST, decision=decision)
    if not form.is_valid():
        return _detail(request, decision, status_form=form, status=400)
    new_status = form.cleaned_data["status"] or None
    outcome = form.cleaned_data["outcome"]
    if new_status is None and outcome.strip() == decision.outcome:
        messages.info(request, "Nothing changed.")
        return redirect("web:decision", decision.pk)
    try:
        decision_update(
            actor=person_actor(request),
            decision=decision,
            status=new_status,
            outcome=outcome if outcome.strip() != decision.outcome else None,
        )
    except ToolError as exc:
        form.refuse(exc)
        return _detail(request, or_404(decision_get, ref), status_form=form, status=exc.http_status)
    messages.success(request, f"Decision {new_status}." if new_status else "Outcome saved.")
    return redirect("web:decision", decision.pk)


@require_POST
@writer_required
def decision_comment(request: HttpRequest, ref: str) -> HttpResponse:
    """Add an entry to the discussion, as update_decision's `comment`."""
    decision = or_404(decision_get, ref)
    form = DecisionCommentForm(request.POST)
    if not form.is_valid():
        return _detail(request, decision, comment_form=form, status=400)
    try:
        decision_update(actor=person_actor(request), decision=decision, comment=form.cleaned_data["comment"])
    except ToolError as exc:
        form.refuse(exc)
        return _detail(request, or_404(decision_get, ref), comment_form=form, status=exc.http_status)
    messages.success(request, "Added to the discussion.")
    return redirect("web:decision", decision.pk)
