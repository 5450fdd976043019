"""Stripe's webhook route, in dj-stripe's namespace and name (so dj-stripe's own code
that reverses it still works), served by our view (billing.webhooks)."""

from django.urls import path

from billing.webhooks import StripeWebhookView

app_name = "djstripe"
urlpatterns = [
    path("webhook/<uuid:uuid>/", StripeWebhookView.as_view(), name="djstripe_webhook_by_uuid"),
]
