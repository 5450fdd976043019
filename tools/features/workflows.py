"""Workflows: ordered gate lists. A feature starts at the first gate and is done when it
reaches the last one; a review gate is only left with an approval (see selectors.unmet).

A gate is `{"name": slug, "review": bool, "self_review_allowed": bool}`. A review gate
reviews the work of whoever moved the feature into it (for a workflow that starts at a
review gate: whoever created the feature); that user's approvals and requests for
changes are refused and never count, unless the gate says `self_review_allowed` (a
person working alone with agents, for example). Gates stored before the flag existed
read as false (`self_review_allowed()`)."""

from __future__ import annotations

import re
from typing import Any

from orchestra.errors import InvalidArguments

MIN_GATES = 2
MAX_GATES = 12
GATE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


def _gate(name: str, *, review: bool = False, self_review_allowed: bool = False) -> dict[str, Any]:
    return {"name": name, "review": review, "self_review_allowed": self_review_allowed}


WORKFLOWS: dict[str, list[dict[str, Any]]] = {
    "default": [
        _gate("spec"),
        _gate("design"),
        _gate("build"),
        _gate("review", review=True),
        _gate("qa"),
        _gate("done"),
    ],
    "quick": [_gate("build"), _gate("review", review=True), _gate("done")],
}
CUSTOM = "custom"


def clean_gates(gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A custom gate list, checked: 2-12 gates with unique short slugs, a last gate that
    is not a review gate (nothing comes after it, so it could never be passed), and
    `self_review_allowed` only on review gates (elsewhere it would promise nothing)."""
    if not MIN_GATES <= len(gates) <= MAX_GATES:
        raise InvalidArguments(f"workflow: give {MIN_GATES} to {MAX_GATES} gates, in order")
    cleaned: list[dict[str, Any]] = []
    for n, gate in enumerate(gates):
        name = str(gate.get("name", "")).strip().lower()
        if not GATE_NAME.match(name):
            raise InvalidArguments(
                f"workflow[{n}].name: a gate name is a slug of 1-30 lowercase letters, digits and hyphens"
            )
        if any(g["name"] == name for g in cleaned):
            raise InvalidArguments(f"workflow[{n}].name: gate {name} appears twice; gate names are unique")
        review = bool(gate.get("review", False))
        self_review = bool(gate.get("self_review_allowed", False))
        if self_review and not review:
            raise InvalidArguments(
                f"workflow[{n}].self_review_allowed: gate {name} is not a review gate; set review: true as well"
            )
        cleaned.append(_gate(name, review=review, self_review_allowed=self_review))
    if cleaned[-1]["review"]:
        raise InvalidArguments(
            f"workflow: the last gate ({cleaned[-1]['name']}) is where a feature is done; it cannot be a review gate"
        )
    return cleaned


def resolve(workflow: str | None, gates: list[dict[str, Any]] | None) -> tuple[str, list[dict[str, Any]]]:
    """(workflow name, its gates) from a named workflow or a custom gate list."""
    if gates is not None:
        if workflow is not None:
            raise InvalidArguments("pass either a workflow name or custom gates, not both")
        return CUSTOM, clean_gates(gates)
    name = workflow or "default"
    if name not in WORKFLOWS:
        raise InvalidArguments(f"workflow must be one of {', '.join(WORKFLOWS)}")
    return name, [dict(g) for g in WORKFLOWS[name]]


def self_review_allowed(gate: dict[str, Any]) -> bool:
    """Whether whoever moved a feature into this gate may review it (false when unsaid)."""
    return bool(gate.get("self_review_allowed", False))
