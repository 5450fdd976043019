"""Reads for work sessions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from memory.models import Memory
from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from tools.activity.models import Activity
from tools.decisions.models import Decision
from tools.tasks.models import Task
from tools.tasks.selectors import open_tasks
from tools.worksessions.models import WorkSession

RESUME_MEMORIES = 20
RESUME_ACTIVITY = 20
RESUME_TASKS = 20
RESUME_DECISIONS = 10


def work_session_get(ref: str, *, argument: str = "session") -> WorkSession:
    """A work session of the organization in scope. A token restricted to one project
    sees only that project's sessions (the manager's project scope): the others answer
    exactly like missing ones."""
    uid = parse_uuid(ref)
    session = WorkSession.objects.filter(pk=uid).first() if uid is not None else None
    if session is None:
        raise not_found(argument, ref)
    return session


def work_session_list(*, user_id: Any = None, agent: Any = None, status: str | None = None) -> QuerySet[WorkSession]:
    """One agent's sessions when `agent` is given, otherwise `user_id`'s. The list never
    loads context, state or summary: they can be large and resume_session has them."""
    rows = WorkSession.objects.defer("context", "state", "summary")
    rows = rows.filter(agent=agent) if agent is not None else rows.filter(user_id=user_id)
    if status:
        rows = rows.filter(status=status)
    return rows


def session_memories(session: WorkSession, limit: int = RESUME_MEMORIES) -> list[Memory]:
    """The session's own memories (archived ones excluded), newest first; one query,
    without the embedding and the search vector."""
    return list(
        Memory.objects.filter(session=session, archived=False)
        .only("id", "content", "tags", "importance", "created_at")
        .order_by("-created_at", "-id")[:limit]
    )


def session_activity(session: WorkSession, limit: int = RESUME_ACTIVITY) -> list[Activity]:
    return list(Activity.objects.filter(session_id=session.pk).order_by("-created_at", "-id")[:limit])


def project_open_tasks(project_id: Any, limit: int = RESUME_TASKS) -> list[Task]:
    """The project's open tasks (not done, cancelled or deleted), most urgent then oldest."""
    if project_id is None:
        return []
    return open_tasks(project_id, limit)


def project_latest_decisions(project_id: Any, limit: int = RESUME_DECISIONS) -> list[Decision]:
    """The project's newest decisions, brief fields only."""
    if project_id is None:
        return []
    return list(
        Decision.objects.filter(project_id=project_id)
        .only("id", "title", "status", "created_at")
        .order_by("-created_at", "-id")[:limit]
    )
