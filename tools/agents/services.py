"""Writes for agents: one transaction and one audit row each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.plans import Resource
from billing.services import usage_consume, usage_release
from memory.models import Memory
from memory.services import memories_delete
from orchestra.actor import Actor
from orchestra.errors import InvalidArguments, not_found
from orchestra.slugs import create_with_unique_slug
from tools.activity.services import activity_record
from tools.agents.models import Agent, AgentStatus, MemoryScope

MAX_SKILLS = 50


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidArguments("name must not be empty")
    return name


def _clean_skills(skills: list[str]) -> list[str]:
    """Stripped, without blanks or repeats, in the order given."""
    cleaned: list[str] = []
    for skill in skills:
        skill = skill.strip()
        if skill and skill not in cleaned:
            cleaned.append(skill)
    if len(cleaned) > MAX_SKILLS:
        raise InvalidArguments(f"at most {MAX_SKILLS} skills")
    return cleaned


def _check_memory_scope(memory_scope: str, project_id: Any) -> None:
    # Without a project, a project memory scope would silently search everything.
    if memory_scope == MemoryScope.PROJECT and project_id is None:
        raise InvalidArguments("memory_scope project needs an agent with a project: give project or another scope")


@transaction.atomic
def agent_create(
    *,
    actor: Actor,
    name: str,
    role: str = "",
    skills: list[str] | None = None,
    memory_scope: str = MemoryScope.PRIVATE,
    project: Any = None,
    description: str = "",
    model: str = "",
) -> Agent:
    name = _clean_name(name)
    cleaned_skills = _clean_skills(skills or [])
    _check_memory_scope(memory_scope, getattr(project, "pk", None))
    agent = create_with_unique_slug(
        Agent,
        slug_from=name,
        name=name,
        # Soft-deleted agents free their slug (the constraint covers live agents only).
        live=Q(deleted_at__isnull=True),
        role=role.strip(),
        description=description,
        skills=cleaned_skills,
        memory_scope=memory_scope,
        model=model.strip(),
        project=project,
    )
    activity_record(
        actor=actor.with_agent(agent.pk),
        type="agent.created",
        target=agent,
        project_id=agent.project_id,
        description=name,
    )
    usage_consume(organization=agent.organization_id, resource=Resource.AGENTS)  # the last lock
    return agent


@transaction.atomic
def agent_update(
    *,
    actor: Actor,
    agent: Agent,
    name: str | None = None,
    role: str | None = None,
    skills: list[str] | None = None,
    memory_scope: str | None = None,
    description: str | None = None,
    status: str | None = None,
) -> Agent:
    """Change the fields given; the slug stays (references to it keep working)."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _clean_name(name)
    if role is not None:
        changes["role"] = role.strip()
    if skills is not None:
        changes["skills"] = _clean_skills(skills)
    if memory_scope is not None:
        _check_memory_scope(memory_scope, agent.project_id)
        changes["memory_scope"] = memory_scope
    if description is not None:
        changes["description"] = description
    if status is not None:
        changes["status"] = status
    if not changes:
        raise InvalidArguments(
            "nothing to update: pass at least one of name, role, skills, memory_scope, description, status"
        )
    for field, value in changes.items():
        setattr(agent, field, value)
    agent.save(update_fields=[*changes, "updated_at"])
    kind = {AgentStatus.ARCHIVED: "agent.archived", AgentStatus.ACTIVE: "agent.restored"}.get(
        changes.get("status", ""), "agent.updated"
    )
    activity_record(
        actor=actor.with_agent(agent.pk),
        type=kind,
        target=agent,
        project_id=agent.project_id,
        metadata={"fields": sorted(changes)},
    )
    return agent


@dataclass(frozen=True)
class Deleted:
    agent: Agent
    deleted_at: datetime
    memories_archived: int
    memories_deleted: int


@transaction.atomic
def agent_delete(*, actor: Actor, agent: Agent, archive_memory: bool = True) -> Deleted:
    """Soft-delete an agent: gone from every list, its history still points at it. Its
    own memories are archived (kept, out of default search) or deleted."""
    # The row as it is now, locked: of two deletions at once, the second finds it gone
    # (and the plan's slot is given back once).
    if Agent.objects.select_for_update().filter(pk=agent.pk, deleted_at__isnull=True).values_list("pk").first() is None:
        raise not_found("agent", agent.pk)
    memories = Memory.objects.filter(agent=agent)
    archived = deleted = 0
    if archive_memory:
        archived = memories.filter(archived=False).update(archived=True, updated_at=timezone.now())
    else:
        deleted = memories_delete(memories)  # gives their bytes back
    deleted_at = agent.deleted_at = timezone.now()
    agent.save(update_fields=["deleted_at", "updated_at"])
    activity_record(
        actor=actor.with_agent(agent.pk),
        type="agent.deleted",
        target=agent,
        project_id=agent.project_id,
        description=agent.name,
        metadata={"memories_archived": archived, "memories_deleted": deleted},
    )
    usage_release(organization=agent.organization_id, resource=Resource.AGENTS)
    return Deleted(agent=agent, deleted_at=deleted_at, memories_archived=archived, memories_deleted=deleted)
