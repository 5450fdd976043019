from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans, limits and usage counters; subscriptions through dj-stripe when Stripe keys are set."""

    name = "billing"

    def ready(self) -> None:
        # Stripe secrets stay out of the database; the webhook handlers connect to
        # dj-stripe's event signals (docs/decisions/0016).
        import stripe
        from django.conf import settings

        from billing import cancellation, stripe_secrets, webhooks  # noqa: F401  (cancellation: on purge)

        stripe_secrets.install()
        stripe.default_http_client = stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_SECONDS)
