"""Which plan an organization is on, and how much of it it uses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Organization
from billing import usage
from billing.models import OrganizationBilling
from billing.plans import PLANS, WARN_AT, Plan, PlanCode, Resource, billing_enabled, plan_get
from orchestra.ttl_cache import TtlCache

# A subscription in one of these states pays for its plan.
PAYING = frozenset({"active", "trialing"})
# These keep their plan until the end of the period already paid for, then fall to free.
LAPSING = frozenset({"past_due", "canceled", "unpaid", "incomplete_expired", "paused"})


def live_organization_id(organization: Organization) -> Any:
    return organization.live_organization_id if organization.is_sandbox else organization.pk


def plan_of(billing: OrganizationBilling | None, *, now: datetime | None = None) -> Plan:
    """The plan a billing row gives, now: an operator's grant while it lasts, else (with
    billing on) the subscription's plan while it is paid for, else the base plan."""
    now = now or timezone.now()
    if billing is not None and billing.granted_plan and (billing.granted_until is None or billing.granted_until > now):
        return plan_get(billing.granted_plan)
    if not billing_enabled():
        return PLANS[PlanCode.SELF_HOSTED]
    if billing is None:
        # An organization made outside organization_create (the admin, an old fixture):
        # no surprise limits.
        return PLANS[PlanCode.SELF_HOSTED]
    if billing.subscription_plan:
        status = billing.subscription_status
        paid_until = billing.subscription_period_end
        if status in PAYING or (status in LAPSING and paid_until is not None and paid_until > now):
            return plan_get(billing.subscription_plan)
    return plan_get(billing.base_plan)


def plan_for(organization: Organization) -> Plan:
    """The organization's plan (a sandbox has its live organization's)."""
    billing = OrganizationBilling.objects.filter(pk=live_organization_id(organization)).first()
    return plan_of(billing)


# The plan of the organization a tool call acts in, as its token's identity carries
# it: (organization id, plan). The dispatcher sets it, so the writing services need
# no query to find the limits they enforce.
_plan_in_scope: ContextVar[tuple[Any, Plan] | None] = ContextVar("billing_plan_in_scope", default=None)


@contextlib.contextmanager
def plan_scope(organization_id: Any, plan: Plan) -> Iterator[None]:
    token = _plan_in_scope.set((organization_id, plan))
    try:
        yield
    finally:
        _plan_in_scope.reset(token)


def plan_for_id(organization_id: Any) -> Plan:
    """plan_for, knowing only the organization's id (a live organization or its
    sandbox): the plan in scope for it (a tool call's), else one query."""
    scoped = _plan_in_scope.get()
    if scoped is not None and str(scoped[0]) == str(organization_id):
        return scoped[1]
    billing = (
        OrganizationBilling.objects.filter(
            Q(organization_id=organization_id) | Q(organization__sandbox=organization_id)
        )
        .order_by()
        .first()
    )
    return plan_of(billing)


def upgrade_url() -> str:
    """Where an owner changes the plan; empty while billing is off (an operator grants
    plans with `manage.py setplan`)."""
    if not billing_enabled():
        return ""
    try:
        path = reverse("web:billing")
    except NoReverseMatch:  # an installation whose billing pages are not routed
        return ""
    return settings.APP_URL.rstrip("/") + path


@dataclass(frozen=True)
class Meter:
    resource: Resource
    used: int
    limit: int | None

    @property
    def share(self) -> float | None:
        return None if not self.limit else self.used / self.limit

    @property
    def warning(self) -> bool:
        return self.limit is not None and self.used >= WARN_AT * self.limit

    @property
    def over(self) -> bool:
        return self.limit is not None and self.used > self.limit

    def as_dict(self) -> dict[str, Any]:
        return {"used": self.used, "limit": "unlimited" if self.limit is None else self.limit}


def meters(organization: Organization, plan: Plan | None = None) -> list[Meter]:
    """Usage against the plan's limits, one per resource (two queries)."""
    plan = plan or plan_for(organization)
    counts = usage.usage_for(organization.pk)
    return [Meter(resource, counts[resource], plan.limit(resource)) for resource in Resource]


_LABELS = {
    Resource.MEMBERS: "Members (with pending invitations)",
    Resource.PROJECTS: "Projects",
    Resource.TOKENS: "Tokens",
    Resource.AGENTS: "Agents",
    Resource.TASKS: "Tasks this month",
    Resource.MEMORY_BYTES: "Memory",
}


def meters_context(organization: Organization) -> dict[str, Any]:
    """What the usage meters template (`web/billing/_meters.html`) shows: the plan and
    one row per resource, with the shares at which it warns or is over."""
    plan = plan_for(organization)
    rows = []
    for meter in meters(organization, plan):
        in_mb = meter.resource is Resource.MEMORY_BYTES
        rows.append(
            {
                "label": _LABELS[meter.resource],
                "used": f"{meter.used / 1_000_000:.1f} MB" if in_mb else f"{meter.used:,}",
                "limit": "unlimited"
                if meter.limit is None
                else (f"{meter.limit / 1_000_000:,.0f} MB" if in_mb else f"{meter.limit:,}"),
                "percent": None if meter.share is None else min(100, round(meter.share * 100)),
                "warning": meter.warning,
                "over": meter.over,
            }
        )
    return {
        "plan": plan,
        "meters": rows,
        "any_warning": any(row["warning"] for row in rows),
        "any_over": any(row["over"] for row in rows),
        "upgrade_url": upgrade_url(),
    }


# get_context's usage, per organization, for USAGE_CACHE_SECONDS: agents call it at
# every start, and limits are enforced by the writing services, never from here.
USAGE_CACHE_SECONDS = 1.0
_usage_cache: TtlCache[Any, dict[Resource, int]] = TtlCache()


def current_usage(organization_id: Any, *, stale_ok: bool = False) -> dict[Resource, int]:
    """The organization's counters (a sandbox's own), at most a second old. With
    `stale_ok` (the MCP fast path, which checked usage_is_cached first) a value that
    went stale since that check is returned rather than touching the database."""
    cached = _usage_cache.get(organization_id, stale_ok=stale_ok)
    if cached is not None:
        return cached
    counts = usage.usage_for(organization_id)
    _usage_cache.put(organization_id, counts, USAGE_CACHE_SECONDS)
    return counts


def usage_is_cached(organization_id: Any) -> bool:
    return _usage_cache.get(organization_id) is not None


def plan_summary(plan: Plan, counts: dict[Resource, int]) -> dict[str, Any]:
    """What get_context says of the plan (`plan`: its limits and requests per minute),
    current usage (`usage`), and a warning per resource at WARN_AT of its limit or
    over it (`warnings`); compact, as an agent reads it at every start: `limits` names
    only the limited resources (one not named is unlimited), and no warnings, no key."""
    warnings = []
    for resource in Resource:
        meter = Meter(resource, counts[resource], plan.limit(resource))
        if meter.warning:
            state = "over the limit" if meter.over else f"{round((meter.share or 0) * 100)}% used"
            warnings.append(f"{resource.value}: {meter.used} of {meter.limit} ({state})")
    shown_plan: dict[str, Any] = {
        "code": plan.code.value,
        "name": plan.name,
        "limits": {resource.value: limit for resource in Resource if (limit := plan.limit(resource)) is not None},
        "requests_per_minute": plan.rate_limit_per_minute,
    }
    if not shown_plan["limits"]:
        del shown_plan["limits"]
    if warnings and (url := upgrade_url()):
        shown_plan["upgrade_url"] = url
    summary: dict[str, Any] = {"plan": shown_plan, "usage": {resource.value: counts[resource] for resource in Resource}}
    if warnings:
        summary["warnings"] = warnings
    return summary
