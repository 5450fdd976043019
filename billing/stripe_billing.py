"""Stripe: the organization's customer, Checkout and the Customer Portal, and the
subscription's current state applied to the organization's plan.

Every call passes the key from settings (dj-stripe's import-time defaults are never
relied on), and nothing here runs while billing is off.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from djstripe.models import Customer
from djstripe.settings import djstripe_settings

from accounts.models import Organization
from audit.actions import Action
from audit.services import record
from billing.models import OrganizationBilling
from billing.plans import PLAN_BY_LOOKUP_KEY, PLANS, PlanCode, billing_enabled
from billing.selectors import PAYING
from billing.services import billing_open, subscription_apply
from orchestra.errors import InvalidArguments

logger = logging.getLogger(__name__)

# The plans an owner can buy from the Billing page.
SOLD = (PlanCode.PRO, PlanCode.TEAM)


class BillingOff(InvalidArguments):
    """Billing is off on this installation (no Stripe keys)."""


def api() -> dict[str, Any]:
    """The key and API version every Stripe call is made with."""
    if not billing_enabled():
        raise BillingOff("billing is off on this server (no Stripe keys are set)")
    return {"api_key": settings.STRIPE_SECRET_KEY, "stripe_version": djstripe_settings.STRIPE_API_VERSION}


def customer_for(organization: Organization) -> Customer:
    """The organization's Stripe customer (dj-stripe's row), created at Stripe the first
    time it is needed. Stripe's idempotency key (per organization) makes two racing first
    clicks one customer."""
    kwargs = api()
    customer, _ = Customer.get_or_create(
        subscriber=organization, livemode=settings.STRIPE_LIVE_MODE, api_key=kwargs["api_key"]
    )
    return customer


def price_for(lookup_key: str) -> Any:
    """The active Stripe price with this lookup key (`manage.py stripesetup` makes them)."""
    prices = stripe.Price.list(lookup_keys=[lookup_key], active=True, limit=1, **api())
    if not prices.data:
        raise InvalidArguments(
            f"Stripe has no price with lookup key {lookup_key!r} yet: the operator runs `manage.py stripesetup`"
        )
    return prices.data[0]


def checkout_start(*, organization: Organization, plan: str, success_url: str, cancel_url: str, by: Any = None) -> str:
    """A Checkout Session subscribing the organization to `plan`; returns its URL.
    The subscription itself arrives with Stripe's webhook (subscription_apply)."""
    sold = {code.value: PLANS[code] for code in SOLD}
    if plan not in sold:
        raise InvalidArguments(f"plan must be one of {', '.join(sold)}")
    billing = billing_open(organization=organization)
    if billing.subscription_id and billing.subscription_status in PAYING:
        raise InvalidArguments("this organization already has a subscription: change it under Manage billing")
    lookup_key = sold[plan].lookup_key
    assert lookup_key is not None
    price = price_for(lookup_key)
    customer = customer_for(organization)
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer.id,
        line_items=[{"price": price.id, "quantity": 1}],
        success_url=success_url,
        cancel_url=cancel_url,
        client_reference_id=str(organization.pk),
        metadata={"organization": str(organization.pk)},
        subscription_data={"metadata": {"organization": str(organization.pk)}},
        **api(),
    )
    with transaction.atomic():
        record(organization=organization, action=Action.CHECKOUT_STARTED, actor=by, target=plan)
    return str(session.url)


def portal_start(*, organization: Organization, return_url: str) -> str:
    """A Customer Portal session (card, invoices, plan changes, cancellation); its URL."""
    customer = customer_for(organization)
    session = stripe.billing_portal.Session.create(customer=customer.id, return_url=return_url, **api())
    return str(session.url)


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _plan_and_period_end(subscription: Any) -> tuple[str, datetime | None]:
    """The plan its price's lookup key names ("" for a price we do not sell), and the
    end of the period paid for (on the items since Stripe's 2025-03-31 API)."""
    items = (subscription.get("items") or {}).get("data") or []
    plan = ""
    ends = [subscription.get("current_period_end")]
    for item in items:
        ends.append(item.get("current_period_end"))
        price = item.get("price") or {}
        found = PLAN_BY_LOOKUP_KEY.get(price.get("lookup_key") or "")
        if found is not None and not plan:
            plan = found.code.value
    if not plan:
        logger.warning("Stripe subscription %s has no price with a known lookup key", subscription.get("id"))
    known = [int(end) for end in ends if end]
    return plan, _timestamp(max(known)) if known else None


def organization_of_customer(customer_id: str) -> Organization | None:
    """The organization whose Stripe customer this is (dj-stripe's subscriber)."""
    customer = Customer.objects.filter(id=customer_id).select_related("subscriber").first()
    subscriber = customer.subscriber if customer is not None else None
    return subscriber if isinstance(subscriber, Organization) else None


def subscription_sync(subscription_id: str) -> OrganizationBilling | None:
    """Fetch the subscription's CURRENT state from Stripe and apply it to its
    organization's plan: whatever event brought us here, and in whatever order events
    arrive, the plan follows what Stripe says now. None when the subscription's customer
    is no organization of ours, or when another subscription of the organization pays."""
    subscription = stripe.Subscription.retrieve(subscription_id, expand=["items.data.price"], **api())
    data = subscription.to_dict()
    customer_id = data["customer"] if isinstance(data["customer"], str) else data["customer"]["id"]
    organization = organization_of_customer(customer_id)
    if organization is None:
        logger.warning("Stripe subscription %s belongs to no organization (customer %s)", subscription_id, customer_id)
        return None
    billing = billing_open(organization=organization)
    status = str(data.get("status") or "")
    # An organization pays through one subscription: an old one ending must not take
    # the plan away from the one that replaced it.
    replaced = billing.subscription_id and billing.subscription_id != data["id"]
    if replaced and billing.subscription_status in PAYING and status not in PAYING:
        logger.info("ignoring subscription %s (%s): %s pays", data["id"], status, billing.subscription_id)
        return billing
    plan, period_end = _plan_and_period_end(data)
    return subscription_apply(
        organization=organization, subscription_id=data["id"], plan=plan, status=status, period_end=period_end
    )
