from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans, limits and usage counters; subscriptions through dj-stripe when Stripe keys are set."""

    name = "billing"

    def ready(self) -> None:
        # Stripe secrets stay out of the database; the webhook handlers connect to
        # dj-stripe's event signals (docs/decisions/0016).
        from billing import stripe_secrets, webhooks  # noqa: F401

        stripe_secrets.install()
