"""Features: the list with gate progress, one feature with its gates, gate history,
reviews and what its current gate still needs, and what people do there: review the
current gate and advance it (through the services submit_review and advance_feature call,
refused exactly as for agents)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard.context import organization_required, person_actor, writer_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_field
from dashboard.workplace.forms import ReviewForm
from orchestra.errors import ToolError
from tools.features.models import Feature, FeatureStatus
from tools.features.selectors import current_gate, feature_get, feature_list, history, progress, reviews, unmet
from tools.features.services import feature_advance, review_submit


class FeatureFilters(FilterForm):
    status = choice_field("Status", list(FeatureStatus.choices), everything="Any status")
    project = project_field()


def gate_progress(feature: Feature) -> dict[str, Any]:
    """What a progress bar shows: "3/6 review", and the share of gates passed."""
    passed = feature.gate_index + (1 if feature.status == FeatureStatus.DONE else 0)
    total = len(feature.gates)
    return {"label": progress(feature), "passed": passed, "total": total, "percent": round(100 * passed / total)}


def gate_steps(feature: Feature) -> list[dict[str, Any]]:
    """Every gate of the feature's workflow, marked passed, current or ahead."""
    done = feature.status == FeatureStatus.DONE
    steps = []
    for index, gate in enumerate(feature.gates):
        if index < feature.gate_index or (done and index == feature.gate_index):
            state = "passed"
        elif index == feature.gate_index:
            state = "current"
        else:
            state = "ahead"
        steps.append({"name": gate["name"], "review": bool(gate.get("review")), "state": state})
    return steps


@organization_required
def feature_index(request: HttpRequest) -> HttpResponse:
    form = FeatureFilters(request.GET)
    if not form.is_valid():
        return page(request, "web/dashboard/features/list.html", "features", {"form": form, "rows": []}, status=400)
    listed = page_of(
        request,
        feature_list(project=form.cleaned_data["project"], status=form.cleaned_data["status"] or None).select_related(
            "project"
        ),
    )
    rows = [{"feature": f, "progress": gate_progress(f)} for f in listed.items]
    return page(
        request,
        "web/dashboard/features/list.html",
        "features",
        {"form": form, "rows": rows, "next_cursor": listed.next_cursor},
    )


@organization_required
def feature_detail(request: HttpRequest, ref: str) -> HttpResponse:
    return _detail(request, or_404(feature_get, ref))


def _detail(
    request: HttpRequest,
    feature: Feature,
    *,
    review_form: ReviewForm | None = None,
    refused: ToolError | None = None,
    status: int = 200,
) -> HttpResponse:
    """The feature's page; after a refused advance, the refusal and its unmet list
    (exactly what advance_feature answers an agent), or a review form with its errors."""
    moves = history(feature)
    verdicts = reviews(feature)
    prefetch_related_objects([feature], "project")
    prefetch_related_objects(moves, "user")
    prefetch_related_objects(verdicts, "reviewer", "agent")
    return page(
        request,
        "web/dashboard/features/detail.html",
        "features",
        {
            "feature": feature,
            "project": feature.project,
            "progress": gate_progress(feature),
            "steps": gate_steps(feature),
            "history": moves,
            "reviews": verdicts,
            "unmet": unmet(feature),
            "review_form": review_form or ReviewForm(),
            "reviewable": feature.status == FeatureStatus.IN_PROGRESS and current_gate(feature)["review"],
            "refused": refused,
            "refused_unmet": refused.details.get("unmet", []) if refused is not None else [],
        },
        status=status,
    )


@require_POST
@writer_required
def feature_advance_view(request: HttpRequest, ref: str) -> HttpResponse:
    """Move the feature to its next gate, as advance_feature: refused, with every unmet
    requirement listed, while the gate's requirements do not hold."""
    feature = or_404(feature_get, ref)
    try:
        moved = feature_advance(actor=person_actor(request), feature=feature)
    except ToolError as exc:
        return _detail(request, or_404(feature_get, ref), refused=exc, status=exc.http_status)
    messages.success(request, f"Moved to {moved.gate}." if moved.status != FeatureStatus.DONE else "Done.")
    return redirect("web:feature", moved.pk)


@require_POST
@writer_required
def feature_review(request: HttpRequest, ref: str) -> HttpResponse:
    """Review the current (review) gate, as submit_review; refusals land on the form."""
    feature = or_404(feature_get, ref)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _detail(request, feature, review_form=form, status=400)
    try:
        review_submit(
            actor=person_actor(request),
            feature=feature,
            verdict=form.cleaned_data["verdict"],
            comments=form.cleaned_data["comments"],
        )
    except ToolError as exc:
        form.refuse(exc)
        return _detail(request, or_404(feature_get, ref), review_form=form, status=exc.http_status)
    messages.success(request, "Review submitted.")
    return redirect("web:feature", feature.pk)
