"""The five feature (skills & workflows) tools."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import ConfigDict, Field, WithJsonSchema
from typing_extensions import TypedDict

from orchestra.ids import id_or_none
from orchestra.pagination import paginate
from tools.agents.selectors import agent_get
from tools.features import selectors, services
from tools.features.models import Feature, GateTransition, Review
from tools.features.workflows import GATE_NAME, MAX_GATES, MIN_GATES, WORKFLOWS, self_review_allowed
from tools.mcp.answers import Instant
from tools.mcp.args import DEFAULT_PAGE, AgentRef, Cursor, Limit, ProjectRef
from tools.mcp.registry import ToolContext, tool
from tools.projects.selectors import project_get

FeatureRef = Annotated[str, Field(min_length=1, max_length=100, description="Feature id or slug.")]
GateName = Annotated[str, Field(pattern=GATE_NAME.pattern, max_length=30)]


class GateIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    name: GateName
    review: NotRequired[bool]
    self_review_allowed: NotRequired[bool]


# Written by hand: pydantic's schema for this union (with $defs and $ref) costs more
# bytes in every listing. Validation still follows the types.
Workflow = Annotated[
    Literal["default", "quick"] | Annotated[list[GateIn], Field(min_length=MIN_GATES, max_length=MAX_GATES)],
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(WORKFLOWS)},
                {
                    "type": "array",
                    "minItems": MIN_GATES,
                    "maxItems": MAX_GATES,
                    "items": {
                        "properties": {
                            "name": {"type": "string"},
                            "review": {"type": "boolean"},
                            "self_review_allowed": {"type": "boolean"},
                        },
                        "required": ["name"],
                    },
                },
            ],
            "description": "default (spec, design, build, review, qa, done), quick (build, review, done), "
            "or gates in order; review: true marks review gates; self_review_allowed: true lets "
            "whoever moved a feature into one review it.",
        }
    ),
]


class GateOut(TypedDict):
    name: str
    review: bool
    self_review_allowed: bool


class FeatureOut(TypedDict):
    id: str
    slug: str
    title: str
    project_id: str
    workflow: str
    gate: str
    status: str
    progress: str
    created_at: Instant
    updated_at: Instant
    completed_at: Instant | None


class FeatureList(TypedDict):
    items: list[FeatureOut]
    next_cursor: str | None


class TransitionOut(TypedDict):
    from_gate: str | None
    to_gate: str
    user_id: str | None
    created_at: Instant


class ReviewOut(TypedDict):
    id: str
    gate: str
    verdict: str
    comments: str
    reviewer_id: str | None
    agent_id: str | None
    created_at: Instant


class Requirement(TypedDict):
    requirement: str
    message: str


class FeatureDetail(FeatureOut):
    description: str
    gates: list[GateOut]
    unmet: list[Requirement]
    history: list[TransitionOut]
    reviews: list[ReviewOut]


class Reviewed(ReviewOut):
    unmet: list[Requirement]


def feature_out(feature: Feature) -> FeatureOut:
    return FeatureOut(
        id=str(feature.pk),
        slug=feature.slug,
        title=feature.title,
        project_id=str(feature.project_id),
        workflow=feature.workflow,
        gate=feature.gate,
        status=feature.status,
        progress=selectors.progress(feature),
        created_at=feature.created_at,
        updated_at=feature.updated_at,
        completed_at=feature.completed_at,
    )


def transition_out(row: GateTransition) -> TransitionOut:
    return TransitionOut(
        from_gate=row.from_gate or None,
        to_gate=row.to_gate,
        user_id=id_or_none(row.user_id),
        created_at=row.created_at,
    )


def review_out(review: Review) -> ReviewOut:
    return ReviewOut(
        id=str(review.pk),
        gate=review.gate,
        verdict=review.verdict,
        comments=review.comments,
        reviewer_id=id_or_none(review.reviewer_id),
        agent_id=id_or_none(review.agent_id),
        created_at=review.created_at,
    )


def _requirements(feature: Feature) -> list[Requirement]:
    return [Requirement(requirement=m["requirement"], message=m["message"]) for m in selectors.unmet(feature)]


@tool(category="features", read_only=False, creates=True)
def create_feature(
    ctx: ToolContext,
    title: Annotated[str, Field(max_length=200)],
    project: ProjectRef,
    description: Annotated[str | None, Field(max_length=20_000)] = None,
    workflow: Workflow = "default",
) -> FeatureOut:
    """Start a feature at the first gate of its workflow."""
    row = project_get(project)
    feature = services.feature_create(
        actor=ctx.actor,
        project=row,
        title=title,
        description=description or "",
        workflow=workflow if isinstance(workflow, str) else None,
        gates=[dict(g) for g in workflow] if isinstance(workflow, list) else None,
    )
    return feature_out(feature)


@tool(category="features", read_only=False)
def advance_feature(ctx: ToolContext, feature: FeatureRef) -> FeatureOut:
    """Move a feature to its next gate; a review gate needs an approval and no reviewer still requesting changes."""
    row = selectors.feature_get(feature)
    return feature_out(services.feature_advance(actor=ctx.actor, feature=row))


@tool(category="features", read_only=False)
def submit_review(
    ctx: ToolContext,
    feature: FeatureRef,
    verdict: Literal["approved", "changes_requested", "comment"],
    comments: Annotated[str | None, Field(max_length=20_000)] = None,
    agent: AgentRef | None = None,
) -> Reviewed:
    """Review a feature's current gate (a review gate). Whoever moved the feature into it may only comment
    (naming an agent changes nothing), unless the gate has self_review_allowed."""
    row = selectors.feature_get(feature)
    updated, review = services.review_submit(
        actor=ctx.actor,
        feature=row,
        verdict=verdict,
        comments=comments or "",
        agent=agent_get(agent) if agent else None,
    )
    return Reviewed(**review_out(review), unmet=_requirements(updated))


@tool(category="features", read_only=True, idempotent=True)
def list_features(
    ctx: ToolContext,
    project: ProjectRef | None = None,
    gate: Annotated[str | None, Field(max_length=30)] = None,
    status: Literal["in_progress", "done"] | None = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> FeatureList:
    """List features with their gate progress (e.g. 3/6 review)."""
    rows = selectors.feature_list(
        project=project_get(project) if project else None,
        gate=gate,
        status=status,
    )
    page = paginate(rows, limit=limit, cursor=cursor)
    return FeatureList(items=[feature_out(f) for f in page.items], next_cursor=page.next_cursor)


@tool(category="features", read_only=True, idempotent=True)
def get_feature(ctx: ToolContext, feature: FeatureRef) -> FeatureDetail:
    """One feature with its gates, unmet requirements, history and reviews."""
    row = selectors.feature_get(feature)
    return FeatureDetail(
        **feature_out(row),
        description=row.description,
        gates=[
            GateOut(name=g["name"], review=g["review"], self_review_allowed=self_review_allowed(g)) for g in row.gates
        ],
        unmet=_requirements(row),
        history=[transition_out(t) for t in selectors.history(row)],
        reviews=[review_out(r) for r in selectors.reviews(row)],
    )
