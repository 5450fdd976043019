"""Reads for features: lookups, lists, gate history, reviews and gate requirements."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Subquery

from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from tools.features.models import Feature, FeatureStatus, GateTransition, Review, Verdict
from tools.features.workflows import self_review_allowed

HISTORY_LIMIT = 50
REVIEWS_LIMIT = 50


def feature_get(ref: str, *, argument: str = "feature", for_update: bool = False) -> Feature:
    """A feature of the organization in scope by id or slug. For a project-restricted
    token, other projects' features answer exactly like missing ones."""
    uid = parse_uuid(ref)
    rows = Feature.objects.filter(Q(pk=uid) if uid is not None else Q(slug=ref))
    if for_update:
        rows = rows.select_for_update()
    feature = rows.first()
    if feature is None:
        raise not_found(argument, ref)
    return feature


def feature_list(*, project: Any = None, gate: str | None = None, status: str | None = None) -> QuerySet[Feature]:
    rows = Feature.objects.all()
    if project is not None:
        rows = rows.filter(project=project)
    if gate:
        rows = rows.filter(gate=gate)
    if status:
        rows = rows.filter(status=status)
    return rows.defer("description")


def current_gate(feature: Feature) -> dict[str, Any]:
    return dict(feature.gates[feature.gate_index])


def progress(feature: Feature) -> str:
    """Gates passed out of all gates, then the current gate: `3/6 review`. Reaching the
    last gate counts it as passed, so a finished feature reads `6/6 done`."""
    passed = feature.gate_index + (1 if feature.status == FeatureStatus.DONE else 0)
    return f"{passed}/{len(feature.gates)} {feature.gate}"


def _reviewer(review: Review) -> str:
    who = review.reviewer.email if review.reviewer is not None else "a removed user"
    return f"{who} (agent {review.agent.slug})" if review.agent is not None else who


def _into_gate(feature: Feature) -> QuerySet[GateTransition]:
    """The latest move into the feature's current gate, as a one-row queryset."""
    return GateTransition.objects.filter(feature=feature, to_gate=feature.gate).order_by("-created_at", "-id")[:1]


def gate_author_id(feature: Feature) -> Any:
    """The user whose work the current gate reviews: who moved the feature into it (the
    creator, for the first gate: the start row is theirs). None if that user is gone."""
    return _into_gate(feature).values_list("user_id", flat=True).first()


def unmet(feature: Feature) -> list[dict[str, Any]]:
    """Every requirement of the current gate that does not hold yet, in one query.

    A review gate needs at least one `approved` review for it, and no reviewer whose
    latest approved/changes_requested verdict for it is `changes_requested`: a reviewer
    (the user, with the agent if one was named) clears their own request by approving
    later. Comments never count, and neither do the verdicts of the gate's author
    (gate_author_id, whatever agent they named) unless the gate allows self review:
    submit_review refuses them, and rows from before that rule are ignored here.
    Other gates have no requirements."""
    if feature.status == FeatureStatus.DONE or not current_gate(feature)["review"]:
        return []
    rows = list(
        Review.objects.filter(
            feature=feature, gate=feature.gate, verdict__in=[Verdict.APPROVED, Verdict.CHANGES_REQUESTED]
        )
        .select_related("reviewer", "agent")
        # In the same query: every row carries the gate's author.
        .annotate(gate_author_id=Subquery(_into_gate(feature).values("user_id")))
        .order_by("reviewer_id", "agent_id", "-created_at", "-id")
        .distinct("reviewer_id", "agent_id")
    )
    author = rows[0].gate_author_id if rows and not self_review_allowed(current_gate(feature)) else None
    latest = [r for r in rows if author is None or r.reviewer_id != author]
    approved = any(r.verdict == Verdict.APPROVED for r in latest)
    if not approved and latest:
        # A reviewer who approved and later asked for changes did approve once: the
        # outstanding request is what blocks, and is reported as such.
        earlier = Review.objects.filter(feature=feature, gate=feature.gate, verdict=Verdict.APPROVED)
        approved = (earlier.exclude(reviewer_id=author) if author is not None else earlier).exists()
    missing: list[dict[str, Any]] = []
    if not approved:
        missing.append({"requirement": "approved_review", "message": f"gate {feature.gate} needs an approved review"})
    blocking = sorted((r for r in latest if r.verdict == Verdict.CHANGES_REQUESTED), key=lambda r: r.created_at)
    if blocking:
        missing.append(
            {
                "requirement": "changes_resolved",
                "message": "changes requested by " + ", ".join(_reviewer(r) for r in blocking) + " are outstanding",
                "reviews": [str(r.pk) for r in blocking],
            }
        )
    return missing


def history(feature: Feature) -> list[GateTransition]:
    """The feature's gate moves, newest first (at most one per gate, plus the start)."""
    return list(GateTransition.objects.filter(feature=feature).order_by("-created_at", "-id")[:HISTORY_LIMIT])


def reviews(feature: Feature, *, limit: int = REVIEWS_LIMIT) -> list[Review]:
    """The feature's latest reviews, newest first."""
    return list(Review.objects.filter(feature=feature).order_by("-created_at", "-id")[:limit])


def features_by_gate(project: Any) -> dict[str, int]:
    """{gate name: number of the project's features at it}, in one query (for get_project)."""
    rows = Feature.objects.filter(project=project).values("gate").annotate(n=Count("id")).order_by("gate")
    return {row["gate"]: row["n"] for row in rows}
