"""Changes to an organization's plan, and the usage its writers take and give back.

Every service that creates or removes a limited row (a member, an invitation, a
token, a project, an agent, a task, a memory's bytes) calls usage_consume or
usage_release here, inside its own transaction and after its other writes: the
counter row is the last lock it takes (docs/decisions/0010). The sandbox rule lives
here and nowhere else: a sandbox is counted on its own counters (its own
organization id) against its live organization's plan, so test tokens never use up
the live organization's limits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.auth import forget
from accounts.models import Organization
from audit.actions import Action
from audit.services import record
from billing import usage
from billing.models import OrganizationBilling
from billing.plans import Plan, PlanCode, Resource, billing_enabled
from billing.selectors import plan_for_id, upgrade_url
from orchestra.errors import InvalidArguments

# An Organization, or the id of one (what the tool domains hold in scope).
OrganizationRef = Any


def _org_id(organization: OrganizationRef) -> Any:
    return getattr(organization, "pk", organization)


def usage_consume(
    *, organization: OrganizationRef, resource: Resource, amount: int = 1, plan: Plan | None = None
) -> int:
    """Take `amount` of `resource` for the organization (a sandbox on its own
    counter), or raise PlanLimitReached (code `plan_limit`, 402) and change nothing.
    Call it last in the writing transaction; returns the new count."""
    org_id = _org_id(organization)
    plan = plan or plan_for_id(org_id)
    if plan.limit(resource) is None:
        # Unlimited: counted all the same (a later downgrade then finds true counts),
        # without building a refusal's upgrade URL.
        return usage.consume(org_id, resource, plan, amount)
    return usage.consume(org_id, resource, plan, amount, upgrade_url=upgrade_url())


def usage_release(*, organization: OrganizationRef, resource: Resource, amount: int = 1) -> None:
    """Give `amount` of `resource` back (a row removed); monthly counts are never
    given back. Call it in the transaction that removes the row."""
    usage.release(_org_id(organization), resource, amount)


def usage_check_within(*, organization: OrganizationRef, resource: Resource, plan: Plan | None = None) -> None:
    """Refuse (PlanLimitReached) if the organization already uses more than its plan
    allows: an invitation accepted after a downgrade, whose seat was taken before."""
    org_id = _org_id(organization)
    plan = plan or plan_for_id(org_id)
    usage.check_within(org_id, resource, plan, upgrade_url=upgrade_url())


def billing_open(*, organization: Organization) -> OrganizationBilling:
    """The plan row of a new live organization: free when billing is on, else the
    unlimited self-hosted plan (kept if billing is switched on later)."""
    base = PlanCode.FREE if billing_enabled() else PlanCode.SELF_HOSTED
    billing, _ = OrganizationBilling.objects.get_or_create(organization=organization, defaults={"base_plan": base})
    return billing


@transaction.atomic
def plan_grant(
    *, organization: Organization, plan: str, until: datetime | None = None, by: Any = None, by_label: str = "operator"
) -> OrganizationBilling:
    """An operator's grant of `plan` (until `until`, or for good); an empty plan ends a
    grant. After the grant the organization has its subscription's plan, or its base.
    `by` / `by_label` name the operator in the audit row."""
    if organization.is_sandbox:
        raise InvalidArguments("a sandbox has its live organization's plan: grant it there")
    codes = [code.value for code in PlanCode]
    if plan and plan not in codes:
        raise InvalidArguments(f"plan must be one of {', '.join(codes)}")
    if until is not None and until <= timezone.now():
        raise InvalidArguments("until must be in the future")
    billing = _locked(organization)
    billing.granted_plan = plan
    previous = billing.granted_plan
    billing.granted_until = until if plan else None
    billing.updated_at = timezone.now()
    billing.save()
    record(
        organization=organization,
        action=Action.PLAN_GRANTED,
        actor=by,
        actor_label=by_label,
        target=plan or "grant ended",
        details={"from": previous or None, "to": plan or None, "until": until.isoformat() if until else None},
    )
    # Token identities carry the plan (its rate limit): this process drops them at
    # once, the others' expire within AUTH_CACHE_SECONDS.
    transaction.on_commit(lambda: forget(organization=organization.pk))
    return billing


def _locked(organization: Organization) -> OrganizationBilling:
    billing_open(organization=organization)
    return OrganizationBilling.objects.select_for_update().get(pk=organization.pk)


@transaction.atomic
def subscription_apply(
    *,
    organization: Organization,
    subscription_id: str,
    plan: str,
    status: str,
    period_end: datetime | None,
) -> OrganizationBilling:
    """Record what Stripe says of the organization's subscription (from its current
    state, never from an event's order)."""
    billing: Any = _locked(organization)
    before = (billing.subscription_id, billing.subscription_plan, billing.subscription_status)
    billing.subscription_id = subscription_id
    billing.subscription_plan = plan
    billing.subscription_status = status
    billing.subscription_period_end = period_end
    billing.updated_at = timezone.now()
    billing.save()
    if before != (subscription_id, plan, status):  # Stripe says the same again: nothing to audit
        record(
            organization=organization,
            action=Action.SUBSCRIPTION_CHANGED,
            actor_label="Stripe",
            target=subscription_id,
            details={"plan": plan, "status": status, "previous_plan": before[1], "previous_status": before[2]},
        )
    return billing
