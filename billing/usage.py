"""Usage counters: taken and given back inside the writing transaction.

One statement per change, `INSERT … ON CONFLICT DO UPDATE … WHERE used + n <= limit`:
two agents racing for an organization's last slot cannot both get it (the second
waits for the first's row lock, then sees its count), nothing counts rows (the cost
does not grow with the organization), and no lock is taken on the organization row, so
an organization's writers only meet on the one counter they both change, for the rest
of the shorter transaction. The counter row is the last lock a writer takes (lock
order, docs/decisions/0010).

Counters are kept under every plan, unlimited ones included (only the check is
skipped): a plan that changes from unlimited to limited then finds true counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from billing.models import UsageCounter
from billing.plans import MONTHLY, Plan, Resource
from orchestra.errors import ToolError


class PlanLimitReached(ToolError):
    """A write that would pass the plan's limit; over REST a 402."""

    code = "plan_limit"
    http_status = 402


def period_of(resource: Resource, at: datetime | None = None) -> str:
    if resource not in MONTHLY:
        return ""
    return (at or timezone.now()).astimezone(UTC).strftime("%Y-%m")


_TABLE = UsageCounter._meta.db_table

# Parameters: organization, resource, period, amount, limit (NULL: unlimited).
_CONSUME = f"""
INSERT INTO {_TABLE} AS c (organization_id, resource, period, used)
VALUES (%(org)s, %(resource)s, %(period)s, %(amount)s)
ON CONFLICT (organization_id, resource, period)
DO UPDATE SET used = c.used + EXCLUDED.used
WHERE %(limit)s::bigint IS NULL OR c.used + EXCLUDED.used <= %(limit)s::bigint
RETURNING used
"""  # noqa: S608 (the table name is ours)

_RELEASE = f"""
UPDATE {_TABLE} SET used = GREATEST(used - %(amount)s, 0)
WHERE organization_id = %(org)s AND resource = %(resource)s AND period = %(period)s
"""  # noqa: S608


def used(organization_id: Any, resource: Resource) -> int:
    row = (
        UsageCounter.objects.filter(organization_id=organization_id, resource=resource, period=period_of(resource))
        .values_list("used", flat=True)
        .first()
    )
    return int(row or 0)


def usage_for(organization_id: Any) -> dict[Resource, int]:
    """Every counter of the organization for the current period, in one query."""
    now = timezone.now()
    rows = UsageCounter.objects.filter(organization_id=organization_id).values_list("resource", "period", "used")
    found = {(resource, period): value for resource, period, value in rows}
    return {resource: int(found.get((resource.value, period_of(resource, now)), 0)) for resource in Resource}


def consume(organization_id: Any, resource: Resource, plan: Plan, amount: int = 1, *, upgrade_url: str = "") -> int:
    """Take `amount` of `resource` for the organization, or raise PlanLimitReached and
    change nothing. Returns the new count. Call it inside the writing transaction."""
    limit = plan.limit(resource)
    if amount <= 0:
        return used(organization_id, resource)
    if limit is not None and amount > limit:
        raise _refusal(organization_id, resource, plan, limit, upgrade_url)
    with connection.cursor() as cursor:
        cursor.execute(
            _CONSUME,
            {"org": organization_id, "resource": resource.value, "period": period_of(resource),
             "amount": amount, "limit": limit},
        )  # fmt: skip
        row = cursor.fetchone()
    if row is None:
        raise _refusal(organization_id, resource, plan, limit or 0, upgrade_url)
    return int(row[0])


def check_within(organization_id: Any, resource: Resource, plan: Plan, *, upgrade_url: str = "") -> None:
    """Refuse if the organization is already over its limit (an invitation accepted
    after a downgrade: the seat it held is no longer within the plan)."""
    limit = plan.limit(resource)
    if limit is not None and used(organization_id, resource) > limit:
        raise _refusal(organization_id, resource, plan, limit, upgrade_url)


def release(organization_id: Any, resource: Resource, amount: int = 1) -> None:
    """Give `amount` back (a row deleted). Monthly counters are never given back: a
    task deleted was still created this month."""
    if resource in MONTHLY or amount <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE, {"org": organization_id, "resource": resource.value, "period": "", "amount": amount})


def _refusal(organization_id: Any, resource: Resource, plan: Plan, limit: int, upgrade_url: str) -> PlanLimitReached:
    current = used(organization_id, resource)
    allows, uses = _words(resource, limit), _words(resource, current, bare=True)
    message = f"the {plan.name} plan allows {allows}; this organization uses {uses}"
    message += f": upgrade at {upgrade_url}" if upgrade_url else ": an operator can change the plan"
    details = {"resource": resource.value, "limit": limit, "used": current, "plan": plan.code.value}
    return PlanLimitReached(message, details={**details, "upgrade_url": upgrade_url})


# (one, several) of each resource, as a refusal says it.
_NOUNS = {
    Resource.MEMBERS: ("member (pending invitations included)", "members (pending invitations included)"),
    Resource.PROJECTS: ("active project", "active projects"),
    Resource.TOKENS: ("token", "tokens"),
    Resource.AGENTS: ("agent", "agents"),
    Resource.TASKS: ("task a month", "tasks a month"),
}


def _words(resource: Resource, value: int, *, bare: bool = False) -> str:
    if resource is Resource.MEMORY_BYTES:
        return f"{value / 1_000_000:.1f} MB of memory" if not bare else f"{value / 1_000_000:.1f} MB"
    one, several = _NOUNS[resource]
    return f"{value:,} {one if value == 1 else several}" if not bare else f"{value:,}"
