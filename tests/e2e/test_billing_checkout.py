"""Upgrading in a real browser: the owner's Upgrade button goes through the page's form
(CSRF, the CSP's form-action) to Stripe Checkout (the stand-in's page), Stripe's signed
webhook arrives, and the Billing page shows the Pro plan and its meters. A member sees
the plan but no billing controls."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from django.core.management import call_command
from djstripe.models import WebhookEndpoint

from accounts.models import Role, User
from accounts.services import membership_set, organization_create
from billing.plans import PlanCode
from billing.selectors import plan_for
from billing.services import plan_grant
from tests.e2e.conftest import screenshot
from tests.e2e.test_dashboard_pages import sign_in
from tests.stripe_fixtures import WEBHOOK_SECRET, stripe_env, stripe_on, stripe_standin  # noqa: F401 (fixtures)
from tests.stripe_standin import StripeStandIn, sign


@pytest.fixture(scope="module")
def billing_server(
    stripe_standin: StripeStandIn,  # noqa: F811
    django_db_setup: Any,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A real server (`manage.py serve`) with billing on, its Stripe the stand-in."""
    from tests.conftest import start_server, stop_server

    with django_db_blocker.unblock():
        server = start_server(tmp_path_factory.mktemp("billing-server"), stripe_env(stripe_standin))
    yield server
    stop_server(server)


def meter(page: Any, label: str) -> str:
    return str(page.locator(f'tr.meter[data-label="{label}"] td').first.inner_text())


def test_owner_upgrades_through_checkout_and_a_member_sees_no_controls(
    billing_server: Any,
    stripe_on: StripeStandIn,  # noqa: F811
    page: Any,
    browser: Any,
    alice: User,
    bob: User,
    transactional_db: Any,
) -> None:
    call_command("stripesetup", url=billing_server.url, stdout=io.StringIO())
    endpoint = WebhookEndpoint.objects.get()
    shop = organization_create(name="Shop", owner=alice)  # billing is on: the free plan
    plan_grant(organization=shop, plan="team")  # bob joined during an operator's grant
    membership_set(organization=shop, user=bob, role=Role.MEMBER)
    plan_grant(organization=shop, plan="")

    sign_in(page, billing_server, alice)
    page.goto(f"{billing_server.url}/billing/")
    assert page.locator("#plan-name").inner_text() == "Free"
    assert meter(page, "Projects") == "0 / 1"
    screenshot(page, "billing-free")

    page.click("#upgrade-pro")
    page.wait_for_selector("#checkout-title")
    assert page.url.startswith(f"{stripe_on.url}/checkout/cs_test_")
    assert page.locator("#checkout-title").inner_text() == "Subscribe to Orchestra Pro"
    assert page.locator("#checkout-amount").inner_text() == "$29.00 per month"
    screenshot(page, "billing-checkout")
    page.click("#pay")
    page.wait_for_selector("#checkout-outcome")
    assert page.url == f"{billing_server.url}/billing/?checkout=success"
    assert page.locator("#plan-name").inner_text() == "Free"  # until Stripe's webhook says so

    session = stripe_on.objects[stripe_on.paid_sessions[0]]
    body = stripe_on.event("checkout.session.completed", session)
    response = httpx2.post(
        endpoint.url,
        content=body.encode(),
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body, WEBHOOK_SECRET)},
        timeout=30,
    )
    assert response.status_code == 200, billing_server.log()[-3000:]
    assert plan_for(shop).code == PlanCode.PRO

    page.goto(f"{billing_server.url}/billing/")
    assert page.locator("#plan-name").inner_text() == "Pro"
    assert page.locator("#subscription-status").inner_text() == "active"
    assert meter(page, "Projects") == "0 / 10" and meter(page, "Tokens") == "0 / unlimited"
    assert page.locator("#manage-billing").is_visible() and page.locator("#upgrade-pro").count() == 0
    screenshot(page, "billing-pro")

    context = browser.new_context()
    member = context.new_page()
    try:
        sign_in(member, billing_server, bob)
        member.goto(f"{billing_server.url}/billing/")
        assert member.locator("#plan-name").inner_text() == "Pro"
        assert member.locator("#owners-only").is_visible()
        assert member.locator("#manage-billing").count() == 0
        assert member.locator("button[id^=upgrade-]").count() == 0
        screenshot(member, "billing-member")
    finally:
        context.close()
