"""Writes for features: one transaction and one audit row each. Gate moves and reviews
lock the feature row, so two concurrent calls see each other's effect."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from orchestra.actor import Actor
from orchestra.errors import Conflict, InvalidArguments, PermissionDenied, RequirementsUnmet
from orchestra.slugs import create_with_unique_slug
from tools.activity.services import activity_record
from tools.features import selectors, workflows
from tools.features.models import Feature, FeatureStatus, GateTransition, Review, Verdict


def _clean_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidArguments("title must not be empty")
    return title


def _locked(feature: Feature) -> Feature:
    return Feature.objects.select_for_update().get(pk=feature.pk)


def _ensure_in_progress(feature: Feature) -> None:
    if feature.status == FeatureStatus.DONE:
        raise Conflict(f"feature {feature.slug} is done: it has no gate after {feature.gate}")


@transaction.atomic
def feature_create(
    *,
    actor: Actor,
    project: Any,
    title: str,
    description: str = "",
    workflow: str | None = None,
    gates: list[dict[str, Any]] | None = None,
) -> Feature:
    title = _clean_title(title)
    workflow_name, gate_list = workflows.resolve(workflow, gates)
    feature = create_with_unique_slug(
        Feature,
        slug_from=title,
        project=project,
        title=title,
        description=description,
        workflow=workflow_name,
        gates=gate_list,
        gate_index=0,
        gate=gate_list[0]["name"],
        created_by_id=actor.user_id,
    )
    GateTransition.objects.create(
        organization_id=feature.organization_id, feature=feature, to_gate=feature.gate, user_id=actor.user_id
    )
    activity_record(
        actor=actor,
        type="feature.created",
        target=feature,
        project_id=feature.project_id,
        description=title[:120],
        metadata={"workflow": workflow_name, "gate": feature.gate},
    )
    return feature


@transaction.atomic
def feature_advance(*, actor: Actor, feature: Feature) -> Feature:
    feature = _locked(feature)
    _ensure_in_progress(feature)
    missing = selectors.unmet(feature)
    if missing:
        raise RequirementsUnmet(
            f"feature {feature.slug} cannot leave gate {feature.gate}: " + "; ".join(m["message"] for m in missing),
            details={"feature": feature.slug, "gate": feature.gate, "unmet": missing},
        )
    from_gate = feature.gate
    feature.gate_index += 1
    feature.gate = feature.gates[feature.gate_index]["name"]
    fields = ["gate_index", "gate", "updated_at"]
    if feature.gate_index == len(feature.gates) - 1:
        feature.status = FeatureStatus.DONE
        feature.completed_at = timezone.now()
        fields += ["status", "completed_at"]
    feature.save(update_fields=fields)
    GateTransition.objects.create(
        organization_id=feature.organization_id,
        feature=feature,
        from_gate=from_gate,
        to_gate=feature.gate,
        user_id=actor.user_id,
    )
    activity_record(
        actor=actor,
        type="feature.advanced",
        target=feature,
        project_id=feature.project_id,
        description=f"{from_gate} -> {feature.gate}",
        metadata={"from": from_gate, "to": feature.gate, "status": feature.status},
    )
    return feature


def _ensure_not_own_work(actor: Actor, feature: Feature, verdict: str) -> None:
    """A review gate reviews the work of whoever moved the feature into it: that user
    may comment, but their approval or request for changes is refused unless the gate
    allows self review. Naming an agent changes nothing: an agent acts for the token's
    user, and any caller can name any agent."""
    if verdict == Verdict.COMMENT or workflows.self_review_allowed(selectors.current_gate(feature)):
        return
    if actor.user_id is not None and actor.user_id == selectors.gate_author_id(feature):
        raise PermissionDenied(
            f"you moved feature {feature.slug} into gate {feature.gate}: another member must review it "
            "(you may comment); a workflow gate with self_review_allowed takes its author's review",
            details={"feature": feature.slug, "gate": feature.gate, "requirement": "another_reviewer"},
        )


@transaction.atomic
def review_submit(
    *, actor: Actor, feature: Feature, verdict: str, comments: str = "", agent: Any = None
) -> tuple[Feature, Review]:
    comments = comments.strip()
    if verdict != Verdict.APPROVED and not comments:
        raise InvalidArguments(f"a {verdict} review needs comments saying what to change or note")
    feature = _locked(feature)
    _ensure_in_progress(feature)
    if not selectors.current_gate(feature)["review"]:
        review_gates = [g["name"] for g in feature.gates[feature.gate_index :] if g["review"]]
        later = f"; its next review gate is {review_gates[0]}" if review_gates else ""
        raise Conflict(f"feature {feature.slug} is at gate {feature.gate}, which is not a review gate{later}")
    _ensure_not_own_work(actor, feature, verdict)
    agent_id = getattr(agent, "pk", None)
    review = Review.objects.create(
        organization_id=feature.organization_id,
        feature=feature,
        gate=feature.gate,
        verdict=verdict,
        comments=comments,
        reviewer_id=actor.user_id,
        agent_id=agent_id,
    )
    activity_record(
        actor=actor.with_agent(agent_id),
        type="feature.reviewed",
        target=feature,
        project_id=feature.project_id,
        description=f"{verdict} at {feature.gate}",
        metadata={"review_id": str(review.pk), "gate": feature.gate, "verdict": verdict},
    )
    return feature, review
