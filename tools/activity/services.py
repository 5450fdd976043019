"""The audit trail: one Activity row per change, in the change's own transaction."""

from __future__ import annotations

from typing import Any

from django.db import connection, models

from orchestra.actor import Actor
from orchestra.tenancy import current_organization_id
from tools.activity.models import Activity


def activity_record(
    *,
    actor: Actor,
    type: str,
    target: models.Model | None = None,
    description: str = "",
    project_id: Any = None,
    session_id: Any = None,
    metadata: dict[str, Any] | None = None,
) -> Activity:
    """Write the audit row of a change. Must run inside the change's transaction,
    so that the change and its audit row land (or roll back) together."""
    if not connection.in_atomic_block:
        raise RuntimeError("activity_record must be called inside the change's transaction")
    return Activity.objects.create(
        organization_id=current_organization_id(),
        type=type,
        description=description,
        metadata=metadata or {},
        actor_user_id=actor.user_id,
        agent_id=actor.agent_id,
        token_id=actor.token_id,
        tool=actor.tool,
        target_type=target._meta.model_name if target is not None else "",
        target_id=target.pk if target is not None else None,
        project_id=project_id,
        session_id=session_id,
    )
