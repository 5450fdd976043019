"""Reads for agents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Left

from memory.models import Memory, Scope
from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from tools.activity.models import Activity
from tools.agents.models import Agent

MEMORY_EXCERPT_CHARS = 200
NEWEST_MEMORIES = 5
RECENT_ACTIVITY = 10


def agent_get(ref: str, *, argument: str = "agent", include_deleted: bool = False) -> Agent:
    """An agent of the organization in scope by id or slug (soft-deleted ones are gone).
    `include_deleted` also finds a soft-deleted agent by its id (its history still points
    at it); a slug always means the live agent, since a deleted agent's slug can be reused."""
    uid = parse_uuid(ref)
    rows = Agent.objects.filter(Q(pk=uid) if uid is not None else Q(slug=ref))
    if not (include_deleted and uid is not None):
        rows = rows.filter(deleted_at__isnull=True)
    agent = rows.select_related("project").first()
    if agent is None:
        raise not_found(argument, ref)
    return agent


def agent_list(*, project: Any = None, status: str | None = None) -> QuerySet[Agent]:
    """Live agents, of one project when `project` is given, otherwise of the organization."""
    rows = Agent.objects.filter(deleted_at__isnull=True)
    if project is not None:
        rows = rows.filter(project=project)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("project")


@dataclass(frozen=True)
class MemoryStats:
    count: int
    archived: int
    newest: Sequence[Mapping[str, Any]]  # id, created_at and excerpt: never the whole content


def agent_memory_stats(agent: Agent) -> MemoryStats:
    """Counts of the agent's own (agent-scope) memories and the newest live ones, in two queries."""
    own = Memory.objects.filter(scope=Scope.AGENT, agent=agent)
    counts = own.aggregate(live=Count("id", filter=Q(archived=False)), archived=Count("id", filter=Q(archived=True)))
    newest = list(
        own.filter(archived=False)
        .order_by("-created_at", "-id")
        .values("id", "created_at", excerpt=Left("content", MEMORY_EXCERPT_CHARS))[:NEWEST_MEMORIES]
    )
    return MemoryStats(count=counts["live"], archived=counts["archived"], newest=newest)


def agent_activity(agent: Agent, *, limit: int = RECENT_ACTIVITY) -> list[Activity]:
    """The newest activity rows naming the agent (for a restricted token: of its project)."""
    return list(Activity.objects.filter(agent=agent).order_by("-created_at", "-id")[:limit])
