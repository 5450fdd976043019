"""Stripe's webhooks: dj-stripe's endpoint and signature check, with the signing
secret from settings, and what Orchestra does with the events it cares about.

dj-stripe records each delivery (`WebhookEventTrigger`), verifies its `Stripe-Signature`
(a bad one: 400, no event processed), stores the `Event` once (a replay is a no-op) and
mirrors the object it names. Our handlers then fetch the subscription's current state
and apply it (billing.stripe_billing.subscription_sync), so the order events arrive in
does not matter.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Event, WebhookEndpoint, WebhookEventTrigger
from djstripe.views import ProcessWebhookView

from accounts.models import Membership, Organization, Role
from billing.plans import billing_enabled
from billing.selectors import upgrade_url
from billing.stripe_billing import organization_of_customer, subscription_sync

logger = logging.getLogger(__name__)


class StripeWebhookView(ProcessWebhookView):
    """dj-stripe's webhook view (`stripe/webhook/<uuid>/`, one per WebhookEndpoint row),
    verifying with STRIPE_WEBHOOK_SECRET: the row's own secret column stays empty."""

    def post(self, request: HttpRequest, uuid: UUID) -> HttpResponse:
        if not billing_enabled():
            raise Http404("billing is off")
        if "stripe-signature" not in request.headers:
            return HttpResponseBadRequest()
        # dj-stripe lets this header replace the secret when DEBUG is on (for the Stripe
        # CLI): anyone could then sign their own events. Never here.
        if "x-djstripe-webhook-secret" in request.headers:
            return HttpResponseBadRequest()
        endpoint = get_object_or_404(WebhookEndpoint, djstripe_uuid=uuid)
        endpoint.secret = settings.STRIPE_WEBHOOK_SECRET  # in memory only, never saved
        trigger = WebhookEventTrigger.from_request(request, webhook_endpoint=endpoint)
        if not trigger.valid:
            return HttpResponseBadRequest()
        return HttpResponse(str(trigger.id))


def _object(event: Event) -> dict[str, Any]:
    return dict((event.data or {}).get("object") or {})


def _id(value: Any) -> str:
    return str(value.get("id") if isinstance(value, dict) else value or "")


@djstripe_receiver(
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    ]
)
def on_subscription_event(sender: Any, event: Event, **kwargs: Any) -> None:
    subscription_sync(_id(_object(event).get("id")))


@djstripe_receiver("checkout.session.completed")
def on_checkout_completed(sender: Any, event: Event, **kwargs: Any) -> None:
    subscription_id = _id(_object(event).get("subscription"))
    if subscription_id:
        subscription_sync(subscription_id)


def _invoice_subscription(invoice: dict[str, Any]) -> str:
    # Since Stripe's 2025-03-31 API the subscription is under parent.subscription_details.
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return _id(details.get("subscription") or invoice.get("subscription"))


@djstripe_receiver("invoice.payment_failed")
def on_payment_failed(sender: Any, event: Event, **kwargs: Any) -> None:
    invoice = _object(event)
    organization = organization_of_customer(_id(invoice.get("customer")))
    if organization is None:
        logger.warning("invoice %s: payment failed for a customer of no organization", invoice.get("id"))
        return
    subscription_id = _invoice_subscription(invoice)
    if subscription_id:
        subscription_sync(subscription_id)
    # After the event is stored for good: a replay finds the event and mails nobody.
    transaction.on_commit(lambda: mail_payment_failed(organization, invoice))


def mail_payment_failed(organization: Organization, invoice: dict[str, Any]) -> None:
    """Tell the organization's owners that Stripe could not take a payment."""
    owners = list(
        Membership.objects.filter(organization=organization, role=Role.OWNER)
        .select_related("user")
        .values_list("user__email", flat=True)
    )
    if not owners:
        return
    amount = invoice.get("amount_due") or 0
    context = {
        "organization": organization,
        "amount": f"{amount / 100:,.2f} {str(invoice.get('currency') or 'usd').upper()}",
        "url": upgrade_url(),
        "hosted_invoice_url": invoice.get("hosted_invoice_url") or "",
    }
    subject = render_to_string("web/billing/email/payment_failed_subject.txt", context).strip()
    body = render_to_string("web/billing/email/payment_failed_message.txt", context)
    try:
        send_mail(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}", body, settings.DEFAULT_FROM_EMAIL, owners)
    except (OSError, smtplib.SMTPException) as exc:
        # The event is already recorded: Stripe also mails the customer itself.
        logger.warning("payment-failed mail for %s not sent: %s", organization.slug, type(exc).__name__)
