"""manage.py stripesetup [--url https://orchestra.example.com]: the products and prices
of the plans sold online, and (with --url) the webhook endpoint, made at Stripe once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import stripe
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.plans import billing_enabled
from billing.stripe_setup import catalog_ensure, webhook_ensure


class Command(BaseCommand):
    help = (
        "Create (idempotently, by lookup_key) the Stripe products and monthly prices of the pro and team "
        "plans and, with --url, the webhook endpoint of this server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help="the public base URL Stripe sends webhooks to (usually APP_URL)")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        if not billing_enabled():
            raise CommandError(
                "billing is off: set STRIPE_SECRET_KEY, STRIPE_KEY and STRIPE_WEBHOOK_SECRET (README, Billing) first"
            )
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
            raise CommandError(f"--url must be an absolute http(s) URL, got {url!r}")
        try:
            for line in catalog_ensure():
                self.stdout.write(line)
            if not url:
                self.stdout.write("no --url: webhook endpoint left as it is")
                return
            lines, secret = webhook_ensure(url)
        except stripe.StripeError as exc:
            raise CommandError(f"Stripe refused: {exc.user_message or type(exc).__name__}") from None
        for line in lines:
            self.stdout.write(line)
        if secret:
            # Stripe shows an endpoint's signing secret only when it is created; it is
            # never stored by Orchestra, so this is the one time it is printed.
            self.stdout.write(
                f"its signing secret (shown this once): {secret}\n"
                "set STRIPE_WEBHOOK_SECRET to it and restart the server; until then Stripe's deliveries are refused"
            )
