"""The one place an export or an import is recorded once it has succeeded.

The audit trail of what people did (issue 18, built beside this app) writes its row
here (`audit.services.record` with DATA_EXPORTED / DATA_IMPORTED): every call is
inside a transaction, the import's own (so the row commits with the rows it records,
and a dry run records nothing) or the one that marks an export ready. Until then it
logs one line."""

from __future__ import annotations

import logging
from typing import Any, Literal

from accounts.models import Organization
from orchestra.actor import Actor

logger = logging.getLogger("orchestra.portability")


def portability_recorded(
    *,
    action: Literal["export", "import"],
    organization: Organization,
    actor: Actor,
    counts: dict[str, int],
    details: dict[str, Any] | None = None,
) -> None:
    """`actor` exported from, or imported into, `organization` these rows by kind."""
    logger.info(
        "organization %s: %s of %d rows by user %s",
        organization.pk,
        action,
        sum(counts.values()),
        actor.user_id,
        extra={"portability": {"action": action, "counts": counts, **(details or {})}},
    )
