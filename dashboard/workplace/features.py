"""Features: the list with gate progress, and one feature with its gates, gate history,
reviews and what its current gate still needs."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse

from dashboard.context import organization_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_field
from tools.features.models import Feature, FeatureStatus
from tools.features.selectors import feature_get, feature_list, history, progress, reviews, unmet


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
    feature = or_404(feature_get, ref)
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
        },
    )
