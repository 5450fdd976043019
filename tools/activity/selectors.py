"""Reads for the activity feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from typing_extensions import TypedDict

from tools.activity.models import Activity


class ActivityOut(TypedDict):
    id: str
    type: str
    description: str
    tool: str
    target_type: str
    target_id: str | None
    actor_user_id: str | None
    agent_id: str | None
    project_id: str | None
    created_at: datetime


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def activity_out(activity: Activity) -> ActivityOut:
    return ActivityOut(
        id=str(activity.pk),
        type=activity.type,
        description=activity.description,
        tool=activity.tool,
        target_type=activity.target_type,
        target_id=_str(activity.target_id),
        actor_user_id=_str(activity.actor_user_id),
        agent_id=_str(activity.agent_id),
        project_id=_str(activity.project_id),
        created_at=activity.created_at,
    )


def recent_activity(*, project_id: Any = None, limit: int = 10) -> list[Activity]:
    rows = Activity.objects.all()
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    return list(rows.order_by("-created_at", "-id")[:limit])
