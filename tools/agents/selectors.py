"""Reads for agents."""

from __future__ import annotations

from django.db.models import Q

from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from tools.agents.models import Agent


def agent_get(ref: str, *, argument: str = "agent") -> Agent:
    """An agent of the organization in scope by id or slug (soft-deleted ones are gone)."""
    uid = parse_uuid(ref)
    agent = (
        Agent.objects.filter(Q(pk=uid) if uid is not None else Q(slug=ref), deleted_at__isnull=True)
        .select_related("project")
        .first()
    )
    if agent is None:
        raise not_found(argument, ref)
    return agent
