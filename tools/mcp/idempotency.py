"""Idempotency keys of the create tools: a retried create answers the first result.

An agent that retries a create after a timeout cannot know whether the first attempt
landed; with the same `idempotency_key` it gets the first answer back instead of a
second row (`create_project` would otherwise make `checkout-revamp-2`). The same key with
other arguments (or another tool) within 24 hours is an `idempotency_conflict`. The
check, the tool's writes and the record share one transaction, and concurrent calls
with one key take turns on an advisory lock: the second waits for the first and replays
its answer. A call that fails records nothing, so it can be retried as it was.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import orjson
from django.utils import timezone

from accounts.auth import TokenIdentity
from orchestra.db import advisory_xact_lock
from orchestra.errors import IdempotencyConflict
from tools.mcp.models import IdempotentCall

KEPT_FOR = timedelta(hours=24)
ARGUMENT = "idempotency_key"


def arguments_digest(tool: str, arguments: dict[str, Any]) -> str:
    """What "the same call" means: the tool and its JSON arguments, key left out."""
    payload = {"tool": tool, "arguments": {k: v for k, v in arguments.items() if k != ARGUMENT}}
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _where(identity: TokenIdentity, key: str) -> dict[str, Any]:
    scope = "" if identity.project_id is None else str(identity.project_id)
    return {"organization_id": identity.organization.pk, "scope": scope, "key": key}


def replay(identity: TokenIdentity, tool: str, key: str, digest: str) -> dict[str, Any] | None:
    """The first answer for this key, or None if the call should run (and then be
    remembered). Call inside the call's transaction: the lock is held until it ends."""
    where = _where(identity, key)
    advisory_xact_lock(f"idempotency:{where['organization_id']}:{where['scope']}:{key}")
    earlier = IdempotentCall.objects.filter(**where).first()
    if earlier is None:
        return None
    if earlier.created_at <= timezone.now() - KEPT_FOR:
        earlier.delete()  # expired: the key is free again
        return None
    if earlier.tool != tool or earlier.arguments_digest != digest:
        raise IdempotencyConflict(
            f"idempotency_key {key!r} was used within the last 24 hours by {earlier.tool} with other arguments: "
            "use a new key for a new call",
            details={"tool": earlier.tool, "created_at": earlier.created_at.isoformat()},
        )
    answer: dict[str, Any] = earlier.answer
    return answer


def remember(identity: TokenIdentity, tool: str, key: str, digest: str, answer: dict[str, Any]) -> None:
    IdempotentCall.objects.create(**_where(identity, key), tool=tool, arguments_digest=digest, answer=answer)


def purge_expired() -> int:
    deleted, _ = IdempotentCall.objects.filter(created_at__lte=timezone.now() - KEPT_FOR).delete()
    return deleted
