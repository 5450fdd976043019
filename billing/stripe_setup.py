"""What `manage.py stripesetup` makes at Stripe, idempotently: a product and a monthly
price per plan sold online (found again by the price's lookup_key), and the webhook
endpoint (found again by its URL under `<base>/stripe/webhook/`)."""

from __future__ import annotations

import uuid
from typing import Any

import stripe
from django.urls import reverse
from djstripe.models import Price, Product, WebhookEndpoint
from djstripe.settings import djstripe_settings

from billing.plans import PLANS, PlanCode
from billing.stripe_billing import SOLD, api

# Monthly prices in cents (the public pricing page: pro $29, team $99).
MONTHLY_CENTS = {PlanCode.PRO: 2900, PlanCode.TEAM: 9900}

# The events billing.webhooks handles.
WEBHOOK_EVENTS: list[Any] = [
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "invoice.payment_failed",
]


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _product_for(code: PlanCode) -> tuple[Any, bool]:
    for product in stripe.Product.list(limit=100, **api()).auto_paging_iter():
        if (_plain(product).get("metadata") or {}).get("orchestra_plan") == code.value:
            return product, False
    plan = PLANS[code]
    product = stripe.Product.create(name=f"Orchestra {plan.name}", metadata={"orchestra_plan": code.value}, **api())
    return product, True


def catalog_ensure() -> list[str]:
    """Products and prices for every plan sold online; one line per plan saying what
    was found or made."""
    lines = []
    for code in SOLD:
        lookup_key = PLANS[code].lookup_key
        assert lookup_key is not None
        found = stripe.Price.list(lookup_keys=[lookup_key], limit=1, **api()).data
        if found:
            price = found[0]
            if not _plain(price).get("active"):
                price = stripe.Price.modify(price.id, active=True, **api())
            product = stripe.Product.retrieve(price["product"], **api())
            verb = "exists"
        else:
            product, _ = _product_for(code)
            price = stripe.Price.create(
                product=product.id,
                unit_amount=MONTHLY_CENTS[code],
                currency="usd",
                recurring={"interval": "month"},
                lookup_key=lookup_key,
                nickname=f"{PLANS[code].name} monthly",
                metadata={"orchestra_plan": code.value},
                **api(),
            )
            verb = "created"
        key = api()["api_key"]
        Product.sync_from_stripe_data(_plain(product), api_key=key)
        Price.sync_from_stripe_data(_plain(price), api_key=key)
        amount = int(price["unit_amount"]) / 100
        lines.append(f"{code.value}: price {price.id} (lookup_key {lookup_key}, ${amount:.2f}/month) {verb}")
    return lines


def webhook_ensure(base_url: str) -> tuple[list[str], str]:
    """The webhook endpoint for the server at `base_url`: found among Stripe's endpoints
    by URL, or created. Returns lines to print and, only when it was just created, its
    signing secret (Stripe shows it this once; it is never stored)."""
    prefix = base_url.rstrip("/") + reverse("djstripe:djstripe_webhook_by_uuid", args=[uuid.UUID(int=0)])
    prefix = prefix[: prefix.index(str(uuid.UUID(int=0)))]
    key = api()["api_key"]
    for endpoint in stripe.WebhookEndpoint.list(limit=100, **api()).auto_paging_iter():
        data = _plain(endpoint)
        if not str(data.get("url", "")).startswith(prefix):
            continue
        if sorted(data.get("enabled_events") or []) != sorted(WEBHOOK_EVENTS):
            data = _plain(stripe.WebhookEndpoint.modify(data["id"], enabled_events=WEBHOOK_EVENTS, **api()))
        data.pop("secret", None)
        row = WebhookEndpoint.sync_from_stripe_data(data, api_key=key)
        return [f"webhook endpoint {row.id} exists: {row.url}"], ""
    marker = uuid.uuid4()
    url = f"{prefix}{marker}/"
    created = _plain(
        stripe.WebhookEndpoint.create(
            url=url,
            enabled_events=WEBHOOK_EVENTS,
            api_version=djstripe_settings.STRIPE_API_VERSION,
            description="Orchestra billing",
            metadata={"djstripe_uuid": str(marker)},
            **api(),
        )
    )
    secret = str(created.pop("secret", "") or "")
    row = WebhookEndpoint.sync_from_stripe_data(created, api_key=key)
    return [f"webhook endpoint {row.id} created: {row.url}"], secret
