"""Changes to an organization's plan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from billing.models import OrganizationBilling
from billing.plans import PlanCode, billing_enabled
from orchestra.errors import InvalidArguments


def billing_open(*, organization: Organization) -> OrganizationBilling:
    """The plan row of a new live organization: free when billing is on, else the
    unlimited self-hosted plan (kept if billing is switched on later)."""
    base = PlanCode.FREE if billing_enabled() else PlanCode.SELF_HOSTED
    billing, _ = OrganizationBilling.objects.get_or_create(organization=organization, defaults={"base_plan": base})
    return billing


@transaction.atomic
def plan_grant(*, organization: Organization, plan: str, until: datetime | None = None) -> OrganizationBilling:
    """An operator's grant of `plan` (until `until`, or for good); an empty plan ends a
    grant. After the grant the organization has its subscription's plan, or its base."""
    if organization.is_sandbox:
        raise InvalidArguments("a sandbox has its live organization's plan: grant it there")
    codes = [code.value for code in PlanCode]
    if plan and plan not in codes:
        raise InvalidArguments(f"plan must be one of {', '.join(codes)}")
    if until is not None and until <= timezone.now():
        raise InvalidArguments("until must be in the future")
    billing = _locked(organization)
    billing.granted_plan = plan
    billing.granted_until = until if plan else None
    billing.updated_at = timezone.now()
    billing.save()
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
    billing.subscription_id = subscription_id
    billing.subscription_plan = plan
    billing.subscription_status = status
    billing.subscription_period_end = period_end
    billing.updated_at = timezone.now()
    billing.save()
    return billing
