from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from githubint.webhooks import github_webhook
from orchestra.health import healthz, readyz
from tools.mcp.rest import ToolCallView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/tools/<str:name>", ToolCallView.as_view(), name="tool-call"),
    path("webhooks/github/", github_webhook, name="github-webhook"),
    # Stripe's webhooks: one route per dj-stripe WebhookEndpoint row (404 while billing is off).
    path("stripe/", include("billing.stripe_urls", namespace="djstripe")),
    path(
        "api/schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="api-schema"
    ),
    path("", include("dashboard.urls")),
]
