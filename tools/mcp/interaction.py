"""Input-required results (2026-07-28, SEP-2322): a tool that needs something from the
client (an elicitation, a sampling, the client's roots) answers `input_required` with
its requests and an opaque `requestState`; the client retries the same call carrying
`inputResponses` and the state, echoed verbatim.

The state is signed (Django's signing, with the secret key), bound to the tool and
the token that started the exchange, and expires: a tampered, foreign or stale state
is refused with -32602 instead of being trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core import signing

SALT = "orchestra.mcp.request-state"
MAX_AGE_SECONDS = 3600


class InputRequired(Exception):
    """Raised by a tool (or prompt) that needs input from the client first."""

    def __init__(self, requests: dict[str, dict[str, Any]], state: dict[str, Any] | None = None) -> None:
        super().__init__("input required")
        self.requests = requests
        self.state = state


class BadRequestState(Exception):
    """The echoed requestState is not one we issued for this call."""


@dataclass(frozen=True)
class Interaction:
    """What a 2026-07-28 request carries for input-required exchanges."""

    input_responses: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    client_capabilities: dict[str, Any] = field(default_factory=dict)

    def response(self, key: str) -> dict[str, Any] | None:
        value = self.input_responses.get(key)
        return value if isinstance(value, dict) else None

    def supports(self, capability: str) -> bool:
        return capability in self.client_capabilities


def sign_state(state: dict[str, Any], *, target: str, token_id: Any) -> str:
    return signing.dumps({"t": target, "k": str(token_id), "s": state}, salt=SALT, compress=True)


def read_state(raw: str, *, target: str, token_id: Any) -> dict[str, Any]:
    try:
        payload = signing.loads(raw, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature as exc:  # also SignatureExpired
        raise BadRequestState("requestState failed its integrity check") from exc
    if payload.get("t") != target or payload.get("k") != str(token_id):
        raise BadRequestState("requestState belongs to another request")
    state = payload.get("s")
    return state if isinstance(state, dict) else {}
