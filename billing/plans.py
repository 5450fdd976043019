"""The plans: the numbers of the public pricing page, in one place.

A limit of None is unlimited. The self-hosted plan is what every organization has
while billing is off (no Stripe keys), and what organizations created before billing
was switched on keep until an operator changes it (`manage.py setplan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings


class Resource(StrEnum):
    MEMBERS = "members"  # memberships plus pending invitations
    PROJECTS = "projects"
    TOKENS = "tokens"  # tokens (and OAuth grants) not revoked
    AGENTS = "agents"
    TASKS = "tasks"  # tasks created in the calendar month (UTC)
    MEMORY_BYTES = "memory_bytes"  # bytes of stored memory content


# Counted per calendar month (UTC); every other resource is counted for all time and
# given back when its row goes.
MONTHLY = frozenset({Resource.TASKS})

MB = 1000 * 1000
GB = 1000 * MB


class PlanCode(StrEnum):
    FREE = "free"
    PRO = "pro"
    TEAM = "team"
    ENTERPRISE = "enterprise"
    SELF_HOSTED = "self_hosted"


@dataclass(frozen=True)
class Plan:
    code: PlanCode
    name: str
    price: str
    limits: Mapping[Resource, int | None]
    # MCP requests per minute; None means the installation's MCP_RATE_LIMIT_PER_MINUTE.
    # MCP_PLAN_RATE_LIMITS overrides either (rate_limit_per_minute).
    requests_per_minute: int | None
    # The Stripe price's lookup_key that subscribes to this plan (None: not sold online).
    lookup_key: str | None = None

    def limit(self, resource: Resource) -> int | None:
        return self.limits.get(resource)

    @property
    def rate_limit_per_minute(self) -> int:
        override = settings.MCP_PLAN_RATE_LIMITS.get(self.code.value)
        return override or self.requests_per_minute or settings.MCP_RATE_LIMIT_PER_MINUTE

    @property
    def is_unlimited(self) -> bool:
        return all(value is None for value in self.limits.values())


def _limits(members: int | None, projects: int | None, tokens: int | None, agents: int | None,
            tasks: int | None, memory_bytes: int | None) -> dict[Resource, int | None]:  # fmt: skip
    return {
        Resource.MEMBERS: members,
        Resource.PROJECTS: projects,
        Resource.TOKENS: tokens,
        Resource.AGENTS: agents,
        Resource.TASKS: tasks,
        Resource.MEMORY_BYTES: memory_bytes,
    }


PLANS: dict[PlanCode, Plan] = {
    PlanCode.FREE: Plan(PlanCode.FREE, "Free", "$0", _limits(1, 1, 2, 3, 100, 50 * MB), 120),
    PlanCode.PRO: Plan(PlanCode.PRO, "Pro", "$29/month", _limits(5, 10, None, 20, 2_000, 500 * MB), 600, "pro"),
    PlanCode.TEAM: Plan(
        PlanCode.TEAM, "Team", "$99/month", _limits(25, None, None, 100, 10_000, 5 * GB), 1_200, "team"
    ),
    PlanCode.ENTERPRISE: Plan(
        PlanCode.ENTERPRISE, "Enterprise", "by contract", _limits(None, None, None, None, None, None), 3_000
    ),
    PlanCode.SELF_HOSTED: Plan(
        PlanCode.SELF_HOSTED, "Self-hosted", "$0", _limits(None, None, None, None, None, None), None
    ),
}

PLAN_BY_LOOKUP_KEY: dict[str, Plan] = {plan.lookup_key: plan for plan in PLANS.values() if plan.lookup_key}

# The share of a limit at which get_context and the dashboard warn.
WARN_AT = 0.8


def plan_get(code: str) -> Plan:
    """The plan named `code`; an unknown code (a plan renamed since) is the free plan."""
    try:
        return PLANS[PlanCode(code)]
    except ValueError:
        return PLANS[PlanCode.FREE]


def billing_enabled() -> bool:
    """Billing is on when Stripe's keys are set (settings check the set is whole)."""
    return bool(settings.STRIPE_SECRET_KEY)
