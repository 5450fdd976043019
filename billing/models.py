"""What billing keeps: each live organization's plan, and usage counters.

The plan row is per live organization (a sandbox follows its live organization's
plan); counters are per organization row, so a sandbox is counted on its own.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from billing.plans import PlanCode, Resource


class OrganizationBilling(models.Model):
    """A live organization's plan: the one it has without a subscription (`base_plan`),
    the one its Stripe subscription pays for, and one an operator granted by hand."""

    organization = models.OneToOneField(
        "accounts.Organization", primary_key=True, on_delete=models.CASCADE, related_name="billing"
    )
    # self_hosted for organizations made while billing was off, free for the others.
    base_plan = models.CharField(max_length=20, choices=[(c.value, c.value) for c in PlanCode])
    granted_plan = models.CharField(max_length=20, blank=True, choices=[(c.value, c.value) for c in PlanCode])
    granted_until = models.DateTimeField(null=True, blank=True)
    # The subscription as Stripe last told it (dj-stripe's rows hold the rest).
    subscription_id = models.CharField(max_length=255, blank=True)
    subscription_plan = models.CharField(max_length=20, blank=True, choices=[(c.value, c.value) for c in PlanCode])
    subscription_status = models.CharField(max_length=32, blank=True)
    # Until when a subscription that stopped being paid (past due, cancelled) still
    # gives its plan: the end of the period already paid for.
    subscription_period_end = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "organization plan"

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.granted_plan or self.subscription_plan or self.base_plan}"


class UsageCounter(models.Model):
    """How much of a resource an organization uses in a period ("" for all time,
    "2026-12" for a calendar month in UTC). Changed only by one conditional UPDATE
    (billing.usage), never recomputed by counting rows on the write path."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    resource = models.CharField(max_length=20, choices=[(r.value, r.value) for r in Resource])
    period = models.CharField(max_length=7, blank=True)
    used = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "resource", "period"], name="one_counter_per_period"),
            models.CheckConstraint(condition=models.Q(used__gte=0), name="usage_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.resource} {self.period or 'all time'}: {self.used}"
