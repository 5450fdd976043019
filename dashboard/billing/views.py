"""The Billing page: the plan, its usage meters, and for owners the way to pay
(Stripe Checkout) and to manage card, invoices and cancellation (the Customer Portal).
Everyone in the organization sees the plan; only owners act. Absent (404) while
billing is off."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import stripe
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import Role
from billing.models import OrganizationBilling
from billing.plans import PLANS, billing_enabled
from billing.selectors import PAYING, meters_context
from billing.stripe_billing import SOLD, checkout_start, portal_start
from dashboard.context import organization_required, role_required
from orchestra.errors import ToolError

View = Callable[..., HttpResponse]


def billing_required(view: View) -> View:
    """No billing pages at all while billing is off."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not billing_enabled():
            raise Http404("billing is off on this server")
        return view(request, *args, **kwargs)

    return wrapped


def _see_other(url: str) -> HttpResponse:
    # 303: the browser follows the POST with a GET of Stripe's page.
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _page_url(request: HttpRequest, outcome: str = "") -> str:
    url = request.build_absolute_uri(reverse("web:billing"))
    return f"{url}?checkout={outcome}" if outcome else url


@never_cache
@billing_required
@organization_required
def billing(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    outcome = request.GET.get("checkout", "")
    row = OrganizationBilling.objects.filter(pk=organization.pk).first()
    context: dict[str, Any] = {
        "section": "billing",
        **meters_context(organization),
        "billing": row,
        "subscribed": row is not None and bool(row.subscription_id) and row.subscription_status in PAYING,
        "can_act": request.membership.role == Role.OWNER,  # type: ignore[attr-defined]
        "offers": [PLANS[code] for code in SOLD],
        "outcome": outcome if outcome in ("success", "cancel") else "",
    }
    return render(request, "web/billing/page.html", context)


def _stripe_failed(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, ToolError):
        messages.error(request, str(exc))
    else:
        messages.error(request, "Stripe did not answer as expected; nothing was changed. Try again in a moment.")
    return redirect("web:billing")


@require_POST
@billing_required
@role_required(Role.OWNER)
def billing_upgrade(request: HttpRequest) -> HttpResponse:
    try:
        url = checkout_start(
            organization=request.organization,  # type: ignore[attr-defined]
            plan=request.POST.get("plan", ""),
            success_url=_page_url(request, "success"),
            cancel_url=_page_url(request, "cancel"),
            by=request.user,
        )
    except (ToolError, stripe.StripeError) as exc:
        return _stripe_failed(request, exc)
    return _see_other(url)


@require_POST
@billing_required
@role_required(Role.OWNER)
def billing_portal(request: HttpRequest) -> HttpResponse:
    try:
        url = portal_start(organization=request.organization, return_url=_page_url(request))  # type: ignore[attr-defined]
    except (ToolError, stripe.StripeError) as exc:
        return _stripe_failed(request, exc)
    return _see_other(url)
