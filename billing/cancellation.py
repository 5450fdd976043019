"""A deleted organization's Stripe subscription is cancelled at once (not at the end of
its period: nobody is left to use it), when the purge starts (accounts.deletion)."""

from __future__ import annotations

import logging
from typing import Any

import stripe
from django.dispatch import receiver
from django.utils import timezone

from accounts.deletion import organization_purging
from accounts.models import Organization
from billing.models import OrganizationBilling
from billing.plans import billing_enabled
from billing.stripe_billing import api

logger = logging.getLogger(__name__)

ENDED = ("canceled", "incomplete_expired")


def subscription_cancel(*, organization: Organization) -> bool:
    """Cancel the organization's subscription at Stripe, now. Idempotent: one already
    cancelled, or unknown to Stripe, is left alone. True when Stripe was asked."""
    billing = OrganizationBilling.objects.filter(organization=organization).first()
    if billing is None or not billing.subscription_id or billing.subscription_status in ENDED:
        return False
    if not billing_enabled():
        logger.warning(
            "organization %s has subscription %s but billing is off", organization.pk, billing.subscription_id
        )
        return False
    try:
        stripe.Subscription.cancel(billing.subscription_id, **api())
    except stripe.InvalidRequestError as exc:
        if getattr(exc, "code", None) != "resource_missing":
            raise
    OrganizationBilling.objects.filter(pk=billing.pk).update(subscription_status="canceled", updated_at=timezone.now())
    return True


@receiver(organization_purging)
def _cancel_on_purge(sender: Any, organization: Organization, **kwargs: Any) -> None:
    subscription_cancel(organization=organization)
