from collections.abc import Mapping

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


def check_plan_rate_limits(limits: Mapping[str, int]) -> None:
    """MCP_PLAN_RATE_LIMITS names only plans that exist: a misspelt code would
    silently leave that plan at its own limit."""
    from billing.plans import PlanCode

    unknown = sorted(set(limits) - {code.value for code in PlanCode})
    if unknown:
        codes = ", ".join(code.value for code in PlanCode)
        raise ImproperlyConfigured(f"MCP_PLAN_RATE_LIMITS names unknown plans {unknown}; the plans are {codes}")


class BillingConfig(AppConfig):
    """Plans, limits and usage counters; subscriptions through dj-stripe when Stripe keys are set."""

    name = "billing"

    def ready(self) -> None:
        from django.conf import settings

        check_plan_rate_limits(settings.MCP_PLAN_RATE_LIMITS)
        # Stripe secrets stay out of the database; the webhook handlers connect to
        # dj-stripe's event signals (docs/decisions/0016).
        import stripe

        from billing import cancellation, stripe_secrets, webhooks  # noqa: F401  (cancellation: on purge)

        stripe_secrets.install()
        stripe.default_http_client = stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_SECONDS)
