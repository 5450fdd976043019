"""Who is acting: carried from the edge (a token, a dashboard user) into services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    token_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    tool: str = ""

    def with_agent(self, agent_id: uuid.UUID | None) -> Actor:
        return replace(self, agent_id=agent_id)


SYSTEM = Actor(user_id=None, tool="system")
