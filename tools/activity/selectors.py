"""Reads for the activity feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NotRequired

from django.apps import apps
from django.db import models
from django.db.models import QuerySet
from django.db.models.functions import Left
from typing_extensions import TypedDict

from orchestra.errors import not_found
from orchestra.ids import id_or_none, parse_uuid
from orchestra.tenancy import TenantModel
from tools.activity.models import Activity
from tools.mcp.answers import Instant, present

LABEL_FIELDS = ("name", "title", "content")
LABEL_CHARS = 80


# How much of an entry's description a brief (in get_task, get_project, ...) carries.
BRIEF_DESCRIPTION_CHARS = 120


class ActivityOut(TypedDict):
    """An entry of the feed; empty fields are left out (tools.mcp.answers)."""

    id: str
    type: str
    description: NotRequired[str]
    tool: NotRequired[str]
    target_type: NotRequired[str]
    target_id: NotRequired[str]
    actor_user_id: NotRequired[str]
    agent_id: NotRequired[str]
    project_id: NotRequired[str]
    session_id: NotRequired[str]
    created_at: Instant


class ActivityBrief(TypedDict):
    """An entry inside another answer: what happened, to what, by which agent, when.
    The full entry (the person, the token, the metadata) is list_activities'."""

    type: str
    description: NotRequired[str]
    target_type: NotRequired[str]
    target_id: NotRequired[str]
    agent_id: NotRequired[str]
    created_at: Instant


def activity_out(activity: Activity) -> ActivityOut:
    return present(
        ActivityOut,
        id=str(activity.pk),
        type=activity.type,
        description=activity.description,
        tool=activity.tool,
        target_type=activity.target_type,
        target_id=id_or_none(activity.target_id),
        actor_user_id=id_or_none(activity.actor_user_id),
        agent_id=id_or_none(activity.agent_id),
        project_id=id_or_none(activity.project_id),
        session_id=id_or_none(activity.session_id),
        created_at=activity.created_at,
    )


def activity_brief(activity: Activity, *, with_target: bool = True) -> ActivityBrief:
    """`with_target=False` where the answer is about the target itself (a task's history,
    a session's own entries in resume_session)."""
    description = activity.description
    if len(description) > BRIEF_DESCRIPTION_CHARS:
        description = description[: BRIEF_DESCRIPTION_CHARS - 1].rstrip() + "…"
    return present(
        ActivityBrief,
        type=activity.type,
        description=description,
        target_type=activity.target_type if with_target else None,
        target_id=id_or_none(activity.target_id) if with_target else None,
        agent_id=id_or_none(activity.agent_id),
        created_at=activity.created_at,
    )


def recent_activity(*, project_id: Any = None, limit: int = 10) -> list[Activity]:
    rows = Activity.objects.all()
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    return list(rows.order_by("-created_at", "-id")[:limit])


def activity_list(
    *,
    type: str | None = None,
    agent: Any = None,
    project: Any = None,
    session: Any = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Activity]:
    """The feed, every filter given applied. A project-restricted token sees only its
    project's rows."""
    rows = Activity.objects.all()
    if type:
        rows = rows.filter(type=type)
    if agent is not None:
        rows = rows.filter(agent=agent)
    if project is not None:
        rows = rows.filter(project=project)
    if session is not None:
        rows = rows.filter(session=session)
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lt=until)
    return rows


def activity_get(ref: str, *, argument: str = "activity") -> Activity:
    """One row of the organization in scope; for a project-restricted token, rows of other
    projects (or of none) answer exactly like missing ones."""
    uid = parse_uuid(ref)
    rows = Activity.objects.filter(pk=uid) if uid is not None else Activity.objects.none()
    activity = rows.first()
    if activity is None:
        raise not_found(argument, ref)
    return activity


def _target_models() -> dict[str, type[models.Model]]:
    """Tenant models by the name activity_record stores as target_type. A name two apps
    share is left out: its rows cannot be told apart."""
    by_name: dict[str, list[type[models.Model]]] = {}
    for model in apps.get_models():
        if issubclass(model, TenantModel):
            by_name.setdefault(model._meta.model_name or "", []).append(model)
    return {name: found[0] for name, found in by_name.items() if len(found) == 1}


def target_resolve(target_type: str, target_id: Any) -> tuple[bool, str | None]:
    """(exists, label) of an activity's target: whether it still exists in the
    organization in scope (soft-deleted rows do not), and its display label (name, title,
    or the start of its content; None for rows without one). One query; large columns
    are never loaded."""
    model = _target_models().get(target_type) if target_id is not None else None
    if model is None:
        return False, None
    fields = {f.name for f in model._meta.get_fields()}
    rows = model.objects.filter(pk=target_id)  # type: ignore[attr-defined]
    if "deleted_at" in fields:
        rows = rows.filter(deleted_at__isnull=True)
    label_field = next((f for f in LABEL_FIELDS if f in fields), None)
    if label_field is None:
        return rows.exists(), None
    found = rows.annotate(_label=Left(label_field, LABEL_CHARS)).values_list("_label", flat=True)[:1]
    if not found:
        return False, None
    return True, None if found[0] is None else str(found[0])
