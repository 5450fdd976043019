"""The five decision tools."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, get_args

from pydantic import Field, WithJsonSchema
from typing_extensions import TypedDict

from memory.models import EmbeddingStatus
from memory.search import search
from memory.tools import SCORE_HELP, MinScore
from orchestra.ids import id_or_none
from orchestra.pagination import paginate
from tools.agents.selectors import agent_get
from tools.decisions import selectors, services
from tools.decisions.models import Decision, DecisionComment
from tools.mcp.answers import Instant, excerpt, present
from tools.mcp.args import DEFAULT_PAGE, AgentRef, Cursor, Limit, ProjectRef, Tags
from tools.mcp.registry import ToolContext, tool
from tools.projects.selectors import project_get, project_or_default

StatusName = Literal["proposed", "accepted", "superseded", "rejected"]
# An enum says its type: "type" would only cost bytes in every listing.
Status = Annotated[StatusName, WithJsonSchema({"enum": list(get_args(StatusName))})]
# No decision goes back to proposed (models.TRANSITIONS).
NewStatusName = Literal["accepted", "superseded", "rejected"]
NewStatus = Annotated[NewStatusName, WithJsonSchema({"enum": list(get_args(NewStatusName))})]
DecisionRef = Annotated[str, Field(min_length=1, max_length=64, description="Decision id.")]
Text = Annotated[str, Field(max_length=20_000)]
# How much of what was decided a list row or search hit carries.
ROW_DECISION_CHARS = 300


class Alternative(TypedDict):
    option: Annotated[str, Field(min_length=1, max_length=200)]
    why_not: Annotated[str, Field(min_length=1, max_length=2000)]


# Written by hand: pydantic's schema (with $defs and $ref) costs more bytes in every
# listing. Validation still follows the types.
Alternatives = Annotated[
    list[Alternative],
    Field(max_length=services.MAX_ALTERNATIVES),
    WithJsonSchema(
        {
            "type": "array",
            "maxItems": services.MAX_ALTERNATIVES,
            "items": {
                "properties": {
                    "option": {"type": "string", "maxLength": 200},
                    "why_not": {"type": "string", "maxLength": 2000},
                },
                "required": ["option", "why_not"],
            },
        }
    ),
]


class DecisionOut(TypedDict):
    """A decision in full; empty fields are left out (tools.mcp.answers)."""

    id: str
    project_id: NotRequired[str]
    title: str
    decision: str
    rationale: NotRequired[str]
    context: NotRequired[str]
    alternatives: NotRequired[list[dict[str, str]]]
    status: str
    outcome: NotRequired[str]
    tags: NotRequired[list[str]]
    supersedes_id: NotRequired[str]
    pending_supersedes_id: NotRequired[str]
    superseded_by_id: NotRequired[str]
    author_id: NotRequired[str]
    embedding_status: NotRequired[
        Annotated[str, Field(description="pending or failed while it has no embedding; absent once ready.")]
    ]
    created_at: Instant
    updated_at: Instant


class DecisionRow(TypedDict):
    """A decision in a list: what was decided, cut at ROW_DECISION_CHARS (get_decision has the rest)."""

    id: str
    project_id: NotRequired[str]
    title: str
    decision: str
    status: str
    tags: NotRequired[list[str]]
    superseded_by_id: NotRequired[str]
    updated_at: Instant


class DecisionList(TypedDict):
    items: list[DecisionRow]
    next_cursor: str | None


class CommentOut(TypedDict):
    id: str
    author_id: NotRequired[str]
    agent_id: NotRequired[str]
    text: str
    created_at: Instant


class DecisionDetail(DecisionOut):
    discussion: NotRequired[list[CommentOut]]


class DecisionHit(DecisionRow):
    score: Annotated[float, Field(description=SCORE_HELP)]
    similarity: NotRequired[Annotated[float, Field(description="Cosine similarity; absent while pending.")]]
    matched: Annotated[list[str], Field(description="Which halves found it: vector, keyword.")]
    pending: NotRequired[Annotated[bool, Field(description="No embedding yet: found by its words alone.")]]


class DecisionHits(TypedDict):
    items: list[DecisionHit]


def decision_out(decision: Decision) -> DecisionOut:
    return present(
        DecisionOut,
        id=str(decision.pk),
        project_id=id_or_none(decision.project_id),
        title=decision.title,
        decision=decision.decision,
        rationale=decision.rationale,
        context=decision.context,
        alternatives=decision.alternatives,
        status=decision.status,
        outcome=decision.outcome,
        tags=decision.tags,
        supersedes_id=id_or_none(decision.supersedes_id),
        pending_supersedes_id=id_or_none(decision.pending_supersedes_id),
        superseded_by_id=id_or_none(getattr(decision, "successor_id", None)),
        author_id=id_or_none(decision.author_id),
        embedding_status=None if decision.embedding_status == EmbeddingStatus.READY else decision.embedding_status,
        created_at=decision.created_at,
        updated_at=decision.updated_at,
    )


def _row_fields(decision: Decision) -> dict[str, Any]:
    return {
        "id": str(decision.pk),
        "project_id": id_or_none(decision.project_id),
        "title": decision.title,
        "decision": excerpt(decision.decision, ROW_DECISION_CHARS),
        "status": decision.status,
        "tags": decision.tags,
        "superseded_by_id": id_or_none(getattr(decision, "successor_id", None)),
        "updated_at": decision.updated_at,
    }


def decision_row(decision: Decision) -> DecisionRow:
    return present(DecisionRow, **_row_fields(decision))


def comment_out(comment: DecisionComment) -> CommentOut:
    return present(
        CommentOut,
        id=str(comment.pk),
        author_id=id_or_none(comment.author_id),
        agent_id=id_or_none(comment.agent_id),
        text=comment.text,
        created_at=comment.created_at,
    )


def decision_detail(decision: Decision) -> DecisionDetail:
    return present(
        DecisionDetail,
        **decision_out(decision),
        discussion=[comment_out(c) for c in selectors.decision_discussion(decision)],
    )


@tool(category="decisions", read_only=False, creates=True)
def log_decision(
    ctx: ToolContext,
    title: Annotated[str, Field(min_length=1, max_length=200)],
    decision: Annotated[str, Field(min_length=1, max_length=20_000, description="What was decided.")],
    rationale: Text | None = None,
    alternatives: Alternatives | None = None,
    context: Text | None = None,
    status: Status = "proposed",
    project: ProjectRef | None = None,
    tags: Tags | None = None,
    supersedes: Annotated[
        str | None,
        Field(min_length=1, max_length=64, description="Id of the decision it replaces once accepted."),
    ] = None,
) -> DecisionOut:
    """Record a decision, its rationale and the alternatives not taken."""
    # A project-restricted token's decisions belong to its project, so it can see them again.
    project_row = project_or_default(project)
    row = services.decision_log(
        actor=ctx.actor,
        title=title,
        decision=decision,
        rationale=rationale or "",
        context=context or "",
        alternatives=[dict(a) for a in alternatives or []],
        status=status,
        project=project_row,
        tags=tags,
        supersedes=selectors.decision_get(supersedes, argument="supersedes") if supersedes else None,
    )
    return decision_out(row)


@tool(category="decisions", read_only=True, idempotent=True)
def list_decisions(
    ctx: ToolContext,
    project: ProjectRef | None = None,
    status: Status | None = None,
    tag: Annotated[str | None, Field(max_length=50)] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> DecisionList:
    """List decisions, newest first."""
    rows = selectors.decision_list(
        project=project_get(project) if project else None,
        status=status,
        tag=tag,
    )
    page = paginate(rows, limit=limit, cursor=cursor)
    return DecisionList(items=[decision_row(d) for d in page.items], next_cursor=page.next_cursor)


@tool(category="decisions", read_only=True, idempotent=True)
def get_decision(ctx: ToolContext, decision: DecisionRef) -> DecisionDetail:
    """One decision with its discussion and supersession links."""
    return decision_detail(selectors.decision_get(decision))


@tool(category="decisions", read_only=False)
def update_decision(
    ctx: ToolContext,
    decision: DecisionRef,
    status: NewStatus | None = None,
    outcome: Text | None = None,
    comment: Annotated[
        str | None, Field(min_length=1, max_length=4000, description="Appended to the discussion.")
    ] = None,
    agent: AgentRef | None = None,
) -> DecisionDetail:
    """Change status or outcome, or add a comment to the discussion; accepting applies a pending supersedes."""
    row = selectors.decision_get(decision)
    updated = services.decision_update(
        actor=ctx.actor,
        decision=row,
        status=status,
        outcome=outcome,
        comment=comment,
        agent=agent_get(agent) if agent else None,
    )
    return decision_detail(updated)


@tool(category="decisions", read_only=True, idempotent=True)
def search_decisions(
    ctx: ToolContext,
    query: Annotated[str, Field(min_length=1, max_length=2000)],
    project: ProjectRef | None = None,
    status: Status | None = None,
    tags: Tags | None = None,
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
    min_similarity: Annotated[float, Field(ge=0, le=1, description="Minimum cosine similarity.")] = 0.0,
    min_score: MinScore = 0.0,
) -> DecisionHits:
    """Search decisions (alternatives and discussion included) by meaning and words; each with a 0-1 score."""
    rows = selectors.decision_search_rows(
        project=project_get(project) if project else None,
        status=status,
        tags=tags,
    )
    return DecisionHits(
        items=[
            present(
                DecisionHit,
                **_row_fields(h.row),
                score=round(h.score, 3),
                similarity=None if h.similarity is None else round(h.similarity, 3),
                matched=h.signals,
                pending=h.pending,
            )
            for h in search(rows, query, limit=limit, min_similarity=min_similarity, min_score=min_score)
        ]
    )
