"""Context processor: `billing_enabled`, so the nav shows Billing only while it is on."""

from __future__ import annotations

from django.http import HttpRequest

from billing.plans import billing_enabled


def billing(request: HttpRequest) -> dict[str, bool]:
    return {"billing_enabled": billing_enabled()}
