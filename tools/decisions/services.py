"""Writes for decisions: one transaction each, one audit row per changed decision;
embeddings after commit (memory.embedding_jobs, like memories)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat

from memory.embedding_jobs import schedule_embedding
from memory.models import text_hash
from orchestra.actor import Actor
from orchestra.errors import Conflict, InvalidArguments
from orchestra.tenancy import current_organization_id
from tools.activity.services import activity_record
from tools.decisions.models import (
    TRANSITIONS,
    Decision,
    DecisionComment,
    DecisionStatus,
    alternatives_text,
    decision_text,
)

MAX_TAGS = 20
MAX_ALTERNATIVES = 10
# Discussion entries per decision: get_decision shows them all, so they stay bounded.
MAX_DISCUSSION = 100
# Statuses a decision can be superseded from, and statuses that can supersede.
LIVE = (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED)


def _required(name: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArguments(f"{name} must not be empty")
    return value


def clean_tags(tags: list[str]) -> list[str]:
    tags = sorted({t.strip().lower() for t in tags if t.strip()})
    if len(tags) > MAX_TAGS:
        raise InvalidArguments(f"at most {MAX_TAGS} tags")
    return tags


def clean_alternatives(alternatives: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each alternative is {"option", "why_not"}, both non-empty; an option appears once."""
    if len(alternatives) > MAX_ALTERNATIVES:
        raise InvalidArguments(f"at most {MAX_ALTERNATIVES} alternatives")
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, item in enumerate(alternatives):
        option = str(item.get("option", "")).strip()
        why_not = str(item.get("why_not", "")).strip()
        if not option or not why_not:
            raise InvalidArguments(f"alternatives[{n}]: give option and why_not (why it was not taken)")
        if option.lower() in seen:
            raise InvalidArguments(f"alternatives[{n}]: option {option!r} is listed twice")
        seen.add(option.lower())
        cleaned.append({"option": option, "why_not": why_not})
    return cleaned


def _lock(decision: Decision | Any) -> Decision:
    """The row (or the row of this id) again, locked until commit: status checks and
    changes are serialised. A decision only ever points at older ones (`supersedes` is
    set when it is logged or accepted, to a row that existed before it), and each call
    locks the newer row first, so two calls never wait on each other in a cycle."""
    pk: Any = getattr(decision, "pk", decision)
    return (
        Decision.objects.select_for_update()
        .only("id", "title", "status", "outcome", "project_id", "pending_supersedes_id")
        .get(pk=pk)
    )


def _replaceable(replaced: Decision, project_id: Any, *, on_accept: bool = False) -> Decision:
    """`replaced`, if a decision of `project_id` may replace it now: it must be live."""
    if replaced.project_id != project_id:
        raise InvalidArguments("supersedes: give a decision of the same project (or both organization-wide)")
    if replaced.status not in LIVE:
        if on_accept:
            raise Conflict(
                f"accepting this decision would supersede decision {replaced.pk}, which is already "
                f"{replaced.status}: reject this one, or log a new decision that supersedes the current one"
            )
        raise Conflict(f"decision {replaced.pk} is already {replaced.status}: only a live decision is superseded")
    return replaced


def _supersede(*, actor: Actor, replaced: Decision, by: Decision) -> None:
    """Mark `replaced` (locked, live) superseded by `by`, with its own audit row. A
    proposal it had to replace another decision ends with it."""
    previous = replaced.status
    replaced.status = DecisionStatus.SUPERSEDED
    replaced.pending_supersedes_id = None
    replaced.save(update_fields=["status", "pending_supersedes", "updated_at"])
    activity_record(
        actor=actor,
        type="decision.superseded",
        target=replaced,
        project_id=replaced.project_id,
        description=f"{replaced.title[:100]} superseded by {by.title[:100]}",
        metadata={"from": previous, "by": str(by.pk)},
    )


@transaction.atomic
def decision_log(
    *,
    actor: Actor,
    title: str,
    decision: str,
    rationale: str = "",
    context: str = "",
    alternatives: list[dict[str, Any]] | None = None,
    status: str = DecisionStatus.PROPOSED,
    project: Any = None,
    tags: list[str] | None = None,
    supersedes: Decision | None = None,
) -> Decision:
    """Log a decision. With `supersedes`, an accepted decision replaces that one in the
    same transaction (each of the two changes has its audit row); a proposed one only
    records the replacement as pending, and accepting it later applies it
    (decision_update), while rejecting it leaves the old decision as it was."""
    title, decision = _required("title", title), _required("decision", decision)
    rationale, context = rationale.strip(), context.strip()
    cleaned_alternatives = clean_alternatives(alternatives or [])
    cleaned_tags = clean_tags(tags or [])
    project_id = getattr(project, "pk", None)
    replaced = None
    if supersedes is not None:
        if status not in LIVE:
            raise InvalidArguments(f"a {status} decision supersedes nothing: log it as proposed or accepted")
        replaced = _replaceable(_lock(supersedes), project_id)
    in_effect = replaced is not None and status == DecisionStatus.ACCEPTED
    row = Decision(
        organization_id=current_organization_id(),
        project_id=project_id,
        title=title,
        decision=decision,
        rationale=rationale,
        context=context,
        alternatives=cleaned_alternatives,
        searchable_extra=alternatives_text(cleaned_alternatives),
        status=status,
        tags=cleaned_tags,
        supersedes=replaced if in_effect else None,
        pending_supersedes=None if in_effect else replaced,
        content_hash=text_hash(decision_text(title=title, decision=decision, rationale=rationale, context=context)),
        author_id=actor.user_id,
    )
    row.save(force_insert=True)
    activity_record(
        actor=actor,
        type="decision.logged",
        target=row,
        project_id=project_id,
        description=title[:120],
        metadata={
            "status": status,
            **({"supersedes" if in_effect else "pending_supersedes": str(replaced.pk)} if replaced else {}),
        },
    )
    if replaced is not None and in_effect:
        _supersede(actor=actor, replaced=replaced, by=row)
    transaction.on_commit(lambda: schedule_embedding([row.pk], Decision._meta.label))
    return row


@transaction.atomic
def decision_update(
    *,
    actor: Actor,
    decision: Decision,
    status: str | None = None,
    outcome: str | None = None,
    comment: str | None = None,
    agent: Any = None,
) -> Decision:
    """Change status (along TRANSITIONS) or outcome, and/or append a discussion entry.
    One audit row for the call, and one more for the decision a pending supersession
    replaces when this one is accepted (refused if that decision is no longer live);
    a status equal to the current one changes nothing."""
    if status is None and outcome is None and comment is None:
        raise InvalidArguments("nothing to update: pass at least one of status, outcome, comment")
    if comment is not None:
        comment = _required("comment", comment)
    locked = _lock(decision)
    changes: dict[str, str] = {}
    if status is not None and status != locked.status:
        if status not in TRANSITIONS[locked.status]:
            allowed = ", ".join(sorted(TRANSITIONS[locked.status])) or "none, it is final"
            raise Conflict(f"the decision is {locked.status}: it cannot become {status} (allowed: {allowed})")
        changes["status"] = status
    if outcome is not None and outcome.strip() != locked.outcome:
        changes["outcome"] = outcome.strip()
    if comment is not None and DecisionComment.objects.filter(decision=locked).count() >= MAX_DISCUSSION:
        raise Conflict(f"the discussion is full: a decision keeps at most {MAX_DISCUSSION} entries")
    if not changes and comment is None:
        return decision
    replaced = None
    pending_id = locked.pending_supersedes_id
    if "status" in changes and pending_id is not None and changes["status"] == DecisionStatus.ACCEPTED:
        # Checked before anything is written: a refusal leaves both decisions as they were.
        replaced = _replaceable(_lock(pending_id), locked.project_id, on_accept=True)
    if agent is not None:
        actor = actor.with_agent(agent.pk)
    if changes:
        for field, value in changes.items():
            setattr(decision, field, value)
        fields = [*changes, "updated_at"]
        if "status" in changes and pending_id is not None:
            # Accepted: the replacement takes effect. Rejected or superseded: it never will.
            if replaced is not None:
                decision.supersedes_id = replaced.pk
            decision.pending_supersedes_id = None
            fields += ["supersedes", "pending_supersedes"]
        decision.save(update_fields=fields)
    if comment is not None:
        DecisionComment.objects.create(
            organization_id=current_organization_id(),
            decision=decision,
            author_id=actor.user_id,
            agent_id=actor.agent_id,
            text=comment,
        )
        # The discussion is searched by its words too (models.Decision.searchable_extra).
        Decision.objects.filter(pk=decision.pk).update(
            searchable_extra=Concat(F("searchable_extra"), Value("\n" + comment), output_field=TextField())
        )
    kind = f"decision.{changes['status']}" if "status" in changes else "decision.updated"
    metadata: dict[str, Any] = {"fields": sorted([*changes, *(["discussion"] if comment is not None else [])])}
    if "status" in changes:
        metadata["from"] = locked.status
    if replaced is not None:
        metadata["supersedes"] = str(replaced.pk)
    elif "status" in changes and pending_id is not None:
        metadata["dropped_pending_supersedes"] = str(pending_id)
    activity_record(
        actor=actor,
        type=kind,
        target=decision,
        project_id=decision.project_id,
        # The feed shows this line: the decision's title, not just "decision".
        description=decision.title[:120],
        metadata=metadata,
    )
    if replaced is not None:
        _supersede(actor=actor, replaced=replaced, by=decision)
    return decision
