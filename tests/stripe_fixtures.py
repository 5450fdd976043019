"""Stripe for tests: the local stand-in (tests/stripe_standin.py) playing Stripe's API,
keys in Stripe's formats, and settings that switch billing on and point the stripe
library at the stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from django.core.management import call_command
from django.test import Client

from tests.stripe_standin import StripeStandIn, sign

SECRET_KEY = "sk_test_51StandInSecretKey0123456789abcdefXYZ"
PUBLISHABLE_KEY = "pk_test_51StandInPublishableKey0123456789abc"
WEBHOOK_SECRET = "whsec_standinWebhookSigningSecret0123456789"


def stripe_env(standin: StripeStandIn) -> dict[str, str]:
    """The same settings as environment variables, for servers."""
    return {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_HOST": standin.url,
    }


@pytest.fixture(scope="session")
def stripe_standin() -> Iterator[StripeStandIn]:
    standin = StripeStandIn(secret_key=SECRET_KEY).start()
    yield standin
    standin.stop()


@pytest.fixture
def stripe_on(stripe_standin: StripeStandIn, settings: Any) -> Iterator[StripeStandIn]:
    """Billing on, its Stripe the (emptied) stand-in."""
    stripe_standin.reset()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_HOST = stripe_standin.url
    previous = stripe.api_base
    stripe.api_base = stripe_standin.url  # what dj-stripe does with STRIPE_API_HOST at start
    yield stripe_standin
    stripe.api_base = previous


@pytest.fixture
def stripe_catalog(stripe_on: StripeStandIn) -> dict[str, str]:
    """`manage.py stripesetup --url` run: products, prices and the webhook endpoint.
    Returns {lookup_key: price id, "webhook": the endpoint's path}."""
    from djstripe.models import WebhookEndpoint

    call_command("stripesetup", url="http://testserver", stdout=_Quiet())
    prices = {price["lookup_key"]: price["id"] for price in stripe_on.of_type("price")}
    endpoint = WebhookEndpoint.objects.get()
    return {**prices, "webhook": endpoint.url.removeprefix("http://testserver")}


class _Quiet:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def deliver(client: Client, path: str, body: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> Any:
    """POST a webhook delivery signed as Stripe signs it."""
    return client.post(
        path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body, secret, timestamp)
    )
