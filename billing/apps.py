from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans, limits and usage counters; subscriptions through dj-stripe when Stripe keys are set."""

    name = "billing"
