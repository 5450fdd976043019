"""The one place an export or an import is recorded once it has succeeded: a row of the
organization's audit trail (issue 18), written inside the caller's transaction, the
import's own (so the row commits with the rows it records, and a dry run, rolled back,
records nothing) or the one that marks an export ready."""

from __future__ import annotations

from typing import Any, Literal

from accounts.models import Organization
from audit.actions import Action
from audit.services import record
from orchestra.actor import Actor

ACTIONS = {"export": Action.DATA_EXPORTED, "import": Action.DATA_IMPORTED}


def portability_recorded(
    *,
    action: Literal["export", "import"],
    organization: Organization,
    actor: Actor,
    counts: dict[str, int],
    details: dict[str, Any] | None = None,
) -> None:
    """`actor` exported from, or imported into, `organization` these rows by kind. An
    import that wrote nothing (the same file again) changed nothing, so it is not recorded.
    The trail's details are flat: the count of each kind is a key of its own."""
    rows = sum(counts.values())
    if action == "import" and rows == 0:
        return
    record(
        organization=organization,
        action=ACTIONS[action],
        actor=actor,
        target=f"{rows} rows",
        details={**(details or {}), **{kind: n for kind, n in counts.items() if n}},
    )
