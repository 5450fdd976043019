"""Writes for work sessions: one transaction each, audited."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from memory.models import MAX_CONTENT_BYTES, Scope
from memory.services import memory_store
from orchestra.actor import Actor
from orchestra.errors import Conflict, InvalidArguments
from orchestra.tenancy import current_organization_id
from tools.activity.services import activity_record
from tools.worksessions.models import WorkSession, WorkSessionStatus

MAX_STATE_BYTES = 32 * 1024
# Tags of the memory entry end_session writes, so it can be found (and filtered) later.
SUMMARY_TAGS = ["session-summary"]
SUMMARY_IMPORTANCE = 7


def _clean_goals(goals: list[str]) -> list[str]:
    cleaned = [g.strip() for g in goals]
    if any(not g for g in cleaned):
        raise InvalidArguments("goals must not contain empty strings")
    return cleaned


def _check_state(state: dict[str, Any]) -> None:
    if len(json.dumps(state)) > MAX_STATE_BYTES:
        raise InvalidArguments(f"state must be at most {MAX_STATE_BYTES // 1024} KiB of JSON")


@transaction.atomic
def work_session_create(
    *,
    actor: Actor,
    title: str,
    goals: list[str] | None = None,
    context: str = "",
    agent: Any = None,
    project: Any = None,
) -> WorkSession:
    title = title.strip()
    if not title:
        raise InvalidArguments("title must not be empty")
    session = WorkSession.objects.create(
        organization_id=current_organization_id(),
        title=title,
        goals=_clean_goals(goals or []),
        context=context,
        agent=agent,
        project=project,
        user_id=actor.user_id,
    )
    activity_record(
        actor=actor.with_agent(getattr(agent, "pk", None)),
        type="session.created",
        target=session,
        project_id=session.project_id,
        session_id=session.pk,
        description=title,
    )
    return session


def summary_content(session: WorkSession, summary: str) -> str:
    return f"Session ended: {session.title}\n\n{summary}"


@transaction.atomic
def work_session_end(
    *, actor: Actor, session: WorkSession, summary: str, state: dict[str, Any] | None = None
) -> tuple[WorkSession, Any]:
    """End an active session: status ended, its summary and final state saved on the
    session and persisted as a session-scope memory (content: the summary; metadata:
    the state). Ending an ended session is a Conflict: its first summary stands.

    Two audit rows, one per changed row: `session.ended` and memory_store's
    `memory.stored`. Both carry the session's agent, whose session this is."""
    summary = summary.strip()
    if not summary:
        raise InvalidArguments("summary must not be empty")
    state = state if state is not None else dict(session.state)
    _check_state(state)
    content = summary_content(session, summary)
    if len(content.encode()) > MAX_CONTENT_BYTES:
        raise InvalidArguments(f"title and summary together must be at most {MAX_CONTENT_BYTES // 1024} KiB")
    # Lock the row: of two concurrent end_session calls exactly one ends it.
    locked = WorkSession.objects.select_for_update().get(pk=session.pk)
    if locked.status == WorkSessionStatus.ENDED:
        ended_at = locked.ended_at.isoformat() if locked.ended_at else "an unknown time"
        raise Conflict(f"session {locked.pk} already ended at {ended_at}; resume_session shows its summary")
    locked.summary = summary
    locked.state = state
    locked.status = WorkSessionStatus.ENDED
    locked.ended_at = timezone.now()
    locked.save(update_fields=["summary", "state", "status", "ended_at", "updated_at"])
    agent_actor = actor.with_agent(locked.agent_id)
    activity_record(
        actor=agent_actor,
        type="session.ended",
        target=locked,
        project_id=locked.project_id,
        session_id=locked.pk,
        description=summary[:120],
    )
    memory, _ = memory_store(
        actor=agent_actor,
        content=content,
        scope=Scope.SESSION,
        session=locked,
        tags=SUMMARY_TAGS,
        importance=SUMMARY_IMPORTANCE,
        metadata={"kind": "session.ended", "state": state},
    )
    return locked, memory
