from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from djstripe.admin.admin import WebhookEndpointAdmin
from djstripe.models import APIKey, WebhookEndpoint

from accounts.models import Organization
from billing.models import OrganizationBilling, UsageCounter
from billing.recount import recount


def recount_organizations(organization_ids: Iterable[Any]) -> None:
    """Recount the usage of these organizations, their sandboxes and live
    organizations included (a test token is counted on its sandbox)."""
    ids = {str(pk) for pk in organization_ids if pk is not None}
    if not ids:
        return
    related = Organization.objects.filter(Q(pk__in=ids) | Q(live_organization_id__in=ids)).values_list(
        "pk", "live_organization_id"
    )
    every = {str(pk) for pk, _ in related} | {str(live) for _, live in related if live is not None}
    recount(organization_ids=sorted(every))


class RecountsUsage(admin.ModelAdmin):
    """An operator's edit in the admin bypasses the services that keep usage counters
    (an operator may pass a plan's limit on purpose): the counters of the organizations
    touched are recounted from their rows afterwards, in the same transaction. Admin
    edits are rare; this counts rows, which the request paths never do."""

    organization_field = "organization_id"

    def organizations_of(self, rows: Iterable[Any]) -> set[Any]:
        return {getattr(row, self.organization_field) for row in rows}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            recount_organizations(self.organizations_of([obj]))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            organizations = self.organizations_of([obj])
            super().delete_model(request, obj)
            recount_organizations(organizations)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            organizations = self.organizations_of(queryset)
            super().delete_queryset(request, queryset)
            recount_organizations(organizations)


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
