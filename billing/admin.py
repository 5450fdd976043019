from django.contrib import admin
from django.http import HttpRequest
from djstripe.admin.admin import WebhookEndpointAdmin
from djstripe.models import APIKey, WebhookEndpoint

from billing.models import OrganizationBilling, UsageCounter


@admin.register(OrganizationBilling)
class OrganizationBillingAdmin(admin.ModelAdmin):
    list_display = (
        "organization",
        "base_plan",
        "granted_plan",
        "granted_until",
        "subscription_plan",
        "subscription_status",
    )
    list_filter = ("base_plan", "granted_plan", "subscription_plan", "subscription_status")
    search_fields = ("organization__slug", "organization__name", "subscription_id")
    list_select_related = ("organization",)
    readonly_fields = ("subscription_id", "subscription_plan", "subscription_status", "subscription_period_end")


@admin.register(UsageCounter)
class UsageCounterAdmin(admin.ModelAdmin):
    list_display = ("organization", "resource", "period", "used")
    list_filter = ("resource", "period")
    search_fields = ("organization__slug", "organization__name")
    list_select_related = ("organization",)
    # Counters change only through billing.usage; `manage.py recountusage` repairs them.
    readonly_fields = ("organization", "resource", "period", "used")


# dj-stripe's API key admin would store a secret key in plain text (billing.stripe_secrets
# refuses that anyway): keys come from STRIPE_SECRET_KEY only.
admin.site.unregister(APIKey)


class ListedWebhookEndpointAdmin(WebhookEndpointAdmin):
    """Endpoints are made by `manage.py stripesetup`, which prints the new signing secret
    once: an endpoint added here would lose it (endpoint rows keep no secret)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


admin.site.unregister(WebhookEndpoint)
admin.site.register(WebhookEndpoint, ListedWebhookEndpointAdmin)
