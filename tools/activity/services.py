"""The audit trail: one Activity row per change, in the change's own transaction."""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import connection, models, transaction

from orchestra.actor import Actor
from orchestra.errors import InvalidArguments
from orchestra.tenancy import current_organization_id, current_project_id
from tools.activity.live import publish_on_commit
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
    # Everything a project-restricted caller does happens in its project: its audit rows
    # belong there too (and it can read them back).
    project_id = project_id or current_project_id()
    activity = Activity.objects.create(
        organization_id=current_organization_id(),
        type=type,
        description=description,
        metadata=metadata or {},
        actor_user_id=actor.user_id,
        agent_id=actor.agent_id,
        token_id=actor.token_id,
        tool=actor.tool,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=target.pk if target is not None else None,
        project_id=project_id,
        session_id=session_id,
    )
    # Browsers watching the organization's feed see the row once the change commits.
    publish_on_commit(activity)
    return activity


# The first segment of the system's own event types ("project.created", "memory.stored",
# ...): a custom type may not start with one, so the feed never mixes a model's entries
# with real changes and a filter on a built-in type finds only real changes.
RESERVED_PREFIXES = (
    "activity",
    "agent",
    "billing",
    "decision",
    "feature",
    "github",
    "member",
    "memory",
    "note",
    "organization",
    "pr",
    "project",
    "repo",
    "review",
    "session",
    "spec",
    "task",
    "token",
)
TYPE_PATTERN = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$"
MAX_METADATA_BYTES = 16 * 1024


@transaction.atomic
def activity_log(
    *,
    actor: Actor,
    type: str,
    description: str = "",
    metadata: dict[str, Any] | None = None,
    project: Any = None,
    agent: Any = None,
    session: Any = None,
) -> Activity:
    """An entry written by a caller (log_activity) rather than by a change. Its type is
    a custom one; its project defaults to the session's."""
    if not re.fullmatch(TYPE_PATTERN, type):
        raise InvalidArguments(
            "type must be lowercase letters, digits, - and _, in dot-separated parts (e.g. deploy.finished)"
        )
    if type.split(".", 1)[0] in RESERVED_PREFIXES:
        raise InvalidArguments(
            f"type {type} is reserved for the system's own events "
            f"({', '.join(p + '.*' for p in RESERVED_PREFIXES)}): choose another prefix"
        )
    metadata = metadata or {}
    if len(json.dumps(metadata).encode()) > MAX_METADATA_BYTES:
        raise InvalidArguments(f"metadata must be at most {MAX_METADATA_BYTES // 1024} KiB of JSON")
    if project is not None and session is not None and session.project_id not in (None, project.pk):
        raise InvalidArguments("session belongs to another project than project")
    project_id = project.pk if project is not None else getattr(session, "project_id", None)
    return activity_record(
        actor=actor.with_agent(getattr(agent, "pk", None)),
        type=type,
        description=description,
        metadata=metadata,
        project_id=project_id,
        session_id=getattr(session, "pk", None),
    )
