"""Billing through Stripe (dj-stripe), against the local stand-in of Stripe's API:
the Billing page, Checkout and the portal, signed webhooks in any order, and secrets
that never reach the database."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone
from djstripe.models import APIKey, Customer, Event, WebhookEndpoint

from accounts.models import Organization, Role, User
from accounts.services import membership_set, organization_create
from billing.models import OrganizationBilling
from billing.plans import PlanCode
from billing.selectors import plan_for, plan_of
from billing.services import plan_grant
from billing.stripe_secrets import SecretStorageRefused
from tests.stripe_fixtures import SECRET_KEY, WEBHOOK_SECRET, deliver
from tests.stripe_standin import StripeStandIn, sign


@pytest.fixture
def shop(stripe_on: StripeStandIn, alice: User, bob: User) -> Organization:
    """An organization made while billing is on (so on the free plan): alice owns it,
    bob is a member (added during an operator's grant: the free plan has one seat, so
    the shop is over it, as after a downgrade)."""
    org = organization_create(name="Shop", owner=alice)
    plan_grant(organization=org, plan="team")
    membership_set(organization=org, user=bob, role=Role.MEMBER)
    plan_grant(organization=org, plan="")
    return org


def as_user(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, path: str, data: dict[str, str] | None = None) -> Any:
    """A form POST with the CSRF token the page gave."""
    client.get("/billing/")
    return client.post(path, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def subscribed(standin: StripeStandIn, org: Organization, lookup_key: str = "pro", **kwargs: Any) -> dict[str, Any]:
    """The organization subscribed at Stripe (as a paid Checkout leaves it)."""
    customer = Customer.objects.get(subscriber=org)
    price = next(p for p in standin.of_type("price") if p["lookup_key"] == lookup_key)
    return standin.subscribe(customer.id, price["id"], **kwargs)


def checkout_paid(client: Client, standin: StripeStandIn) -> dict[str, Any]:
    response = post(client, "/billing/upgrade", {"plan": "pro"})
    assert response.status_code == 303
    session_id = response["Location"].rsplit("/", 1)[1]
    return standin.pay(session_id)


def billing_row(org: Organization) -> OrganizationBilling:
    return OrganizationBilling.objects.get(pk=org.pk)


# --- billing off ---------------------------------------------------------------------------


def test_billing_off_means_no_page_no_webhook_and_no_stripe_call(
    stripe_standin: StripeStandIn, alice: User, acme: Organization
) -> None:
    stripe_standin.reset()
    client = as_user(alice)
    assert client.get("/billing/").status_code == 404
    home = client.get("/")
    assert b'href="/billing/"' not in home.content
    client = Client()
    client.force_login(alice)
    assert client.post("/billing/upgrade", {"plan": "pro"}).status_code == 404
    assert client.post("/billing/portal").status_code == 404
    hook = deliver(Client(), "/stripe/webhook/00000000-0000-0000-0000-000000000000/", "{}")
    assert hook.status_code == 404
    with pytest.raises(CommandError, match="billing is off"):
        call_command("stripesetup", url="http://testserver")
    assert plan_for(acme).code == PlanCode.SELF_HOSTED
    assert stripe_standin.requests == []
    assert not Event.objects.exists() and not Customer.objects.exists()


# --- the page and Checkout -----------------------------------------------------------------


def test_checkout_creates_the_customer_once_and_redirects_to_stripe(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    client = as_user(alice)
    page = client.get("/billing/")
    assert page.status_code == 200
    assert (
        b"Free plan" in page.content and b'id="upgrade-pro"' in page.content and b'id="manage-billing"' in page.content
    )
    # The Upgrade form is redirected to Stripe: the CSP's form-action allows its origins.
    csp = page["Content-Security-Policy"]
    form_action = next(part for part in csp.split(";") if part.strip().startswith("form-action"))
    assert "https://checkout.stripe.com" in form_action and "https://billing.stripe.com" in form_action
    assert stripe_on.url in form_action

    first = post(client, "/billing/upgrade", {"plan": "pro"})
    second = post(client, "/billing/upgrade", {"plan": "team"})
    assert first.status_code == second.status_code == 303
    sessions = stripe_on.of_type("checkout.session")
    assert [first["Location"], second["Location"]] == [s["url"] for s in sessions]
    assert first["Location"].startswith(f"{stripe_on.url}/checkout/cs_test_")
    # One customer, at Stripe and in dj-stripe's table, whose subscriber is the organization.
    assert len(stripe_on.of_type("customer")) == 1
    customer = Customer.objects.get()
    assert customer.subscriber == shop and customer.id == stripe_on.of_type("customer")[0]["id"]
    assert stripe_on.of_type("customer")[0]["email"] == "alice@example.com"
    assert {s["customer"] for s in sessions} == {customer.id}
    assert [s["line_items"][0]["price"] for s in sessions] == [stripe_catalog["pro"], stripe_catalog["team"]]
    assert sessions[0]["success_url"] == "http://testserver/billing/?checkout=success"
    assert sessions[0]["cancel_url"] == "http://testserver/billing/?checkout=cancel"
    # Nothing changes before Stripe says the subscription exists.
    assert plan_for(shop).code == PlanCode.FREE


def test_an_unknown_plan_or_a_missing_price_is_a_message_not_a_redirect(
    shop: Organization, alice: User, stripe_on: StripeStandIn
) -> None:
    client = as_user(alice)
    response = post(client, "/billing/upgrade", {"plan": "enterprise"})
    assert response.status_code == 302 and response["Location"] == "/billing/"
    assert b"plan must be one of pro, team" in client.get("/billing/").content
    # No stripesetup yet: Stripe has no price with the lookup key.
    response = post(client, "/billing/upgrade", {"plan": "pro"})
    assert response.status_code == 302
    assert b"manage.py stripesetup" in client.get("/billing/").content
    assert not stripe_on.of_type("checkout.session")


def test_stripe_failing_is_a_message_and_changes_nothing(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    stripe_on.failing = True
    client = as_user(alice)
    for path in ("/billing/upgrade", "/billing/portal"):
        response = post(client, path, {"plan": "pro"})
        assert response.status_code == 302 and response["Location"] == "/billing/"
        assert b"Stripe did not answer as expected; nothing was changed" in client.get("/billing/").content
    assert not Customer.objects.exists() and plan_for(shop).code == PlanCode.FREE


def test_manage_billing_opens_the_customer_portal(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    response = post(as_user(alice), "/billing/portal")
    assert response.status_code == 303
    portal = stripe_on.of_type("billing_portal.session")[0]
    assert response["Location"] == portal["url"] and portal["return_url"] == "http://testserver/billing/"
    assert portal["customer"] == Customer.objects.get(subscriber=shop).id


def test_a_member_sees_the_plan_but_no_controls_and_cannot_act(
    shop: Organization, alice: User, bob: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    client = as_user(bob)
    page = client.get("/billing/")
    assert page.status_code == 200
    assert b"Free plan" in page.content and b'class="meters"' in page.content
    assert b"upgrade-" not in page.content and b"manage-billing" not in page.content
    assert b"Only the organization's owners" in page.content
    assert b'href="/billing/"' in page.content  # the nav names the page while billing is on
    assert post(client, "/billing/upgrade", {"plan": "pro"}).status_code == 403
    assert post(client, "/billing/portal").status_code == 403
    # CSRF is on: the owner's POST without the token is refused too.
    owner = as_user(alice)
    assert owner.post("/billing/upgrade", {"plan": "pro"}).status_code == 403
    assert not stripe_on.of_type("checkout.session") and not stripe_on.of_type("customer")


# --- webhooks ------------------------------------------------------------------------------


def test_signed_checkout_webhook_puts_the_organization_on_its_plan(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    client = as_user(alice)
    session = checkout_paid(client, stripe_on)
    response = deliver(Client(), stripe_catalog["webhook"], stripe_on.event("checkout.session.completed", session))
    assert response.status_code == 200, response.content
    assert plan_for(shop).code == PlanCode.PRO
    row = billing_row(shop)
    assert row.subscription_id == session["subscription"] and row.subscription_status == "active"
    assert row.subscription_period_end is not None and row.subscription_period_end > timezone.now() + timedelta(days=29)
    page = client.get("/billing/")
    assert b"Pro plan" in page.content and b'id="upgrade-pro"' not in page.content
    # A second Checkout is refused while a subscription pays: plans change in the portal.
    again = post(client, "/billing/upgrade", {"plan": "team"})
    assert again.status_code == 302
    assert b"already has a subscription" in client.get("/billing/").content


def test_a_forged_signature_is_refused_and_changes_nothing(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str], settings: Any
) -> None:
    session = checkout_paid(as_user(alice), stripe_on)
    body = stripe_on.event("checkout.session.completed", session)
    path = stripe_catalog["webhook"]
    assert deliver(Client(), path, body, secret="whsec_someoneElsesSecret").status_code == 400
    assert Client().post(path, data=body, content_type="application/json").status_code == 400  # unsigned
    tampered = body.replace('"complete"', '"completed"')
    signature = sign(body, WEBHOOK_SECRET)
    response = Client().post(path, data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    assert response.status_code == 400
    # dj-stripe's debug override (the secret named in a header) never applies here.
    settings.DEBUG = True
    forged = Client().post(
        path,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, "whsec_mine"),
        HTTP_X_DJSTRIPE_WEBHOOK_SECRET="whsec_mine",
    )
    assert forged.status_code == 400
    assert plan_for(shop).code == PlanCode.FREE
    assert billing_row(shop).subscription_id == ""
    assert not Event.objects.exists()
    # An unknown endpoint is a 404.
    assert deliver(Client(), "/stripe/webhook/00000000-0000-0000-0000-000000000000/", body).status_code == 404


def test_a_replayed_event_is_applied_once_and_a_stale_signature_is_refused(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    session = checkout_paid(as_user(alice), stripe_on)
    body = stripe_on.event("checkout.session.completed", session)
    path = stripe_catalog["webhook"]
    assert deliver(Client(), path, body).status_code == 200
    first = billing_row(shop).updated_at
    assert deliver(Client(), path, body).status_code == 200  # Stripe retries: the same event again
    assert Event.objects.count() == 1
    assert billing_row(shop).updated_at == first  # not applied a second time
    assert plan_for(shop).code == PlanCode.PRO
    # A delivery signed an hour ago (outside the 5 minute tolerance) is refused.
    old = stripe_on.event("customer.subscription.updated", stripe_on.objects[session["subscription"]])
    assert deliver(Client(), path, old, timestamp=int(time.time()) - 3600).status_code == 400
    assert Event.objects.count() == 1


def test_out_of_order_events_end_in_the_current_state(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    path = stripe_catalog["webhook"]
    post(as_user(alice), "/billing/upgrade", {"plan": "pro"})  # makes the customer
    subscription = subscribed(stripe_on, shop)
    now = int(time.time())
    # An old snapshot (a cancellation since undone in the portal) arrives after the new one.
    stale = {**subscription, "status": "canceled", "canceled_at": now - 60, "ended_at": now - 60}
    newer = stripe_on.event("customer.subscription.updated", subscription, created=now)
    older = stripe_on.event("customer.subscription.deleted", stale, created=now - 60)
    assert deliver(Client(), path, newer).status_code == 200
    assert deliver(Client(), path, older).status_code == 200
    assert plan_for(shop).code == PlanCode.PRO
    assert billing_row(shop).subscription_status == "active"
    # And the other way round: the subscription really ended; an old "active" comes late.
    stripe_on.set_status(subscription["id"], "canceled", period_end=now - 10)
    ended = stripe_on.event("customer.subscription.deleted", stripe_on.objects[subscription["id"]], created=now)
    assert deliver(Client(), path, ended).status_code == 200
    late = stripe_on.event("customer.subscription.created", subscription | {"status": "active"}, created=now - 120)
    assert deliver(Client(), path, late).status_code == 200
    assert billing_row(shop).subscription_status == "canceled"
    assert plan_for(shop).code == PlanCode.FREE


def test_an_old_subscription_ending_does_not_take_the_plan_of_its_replacement(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    path = stripe_catalog["webhook"]
    post(as_user(alice), "/billing/upgrade", {"plan": "pro"})
    old = subscribed(stripe_on, shop)
    assert deliver(Client(), path, stripe_on.event("customer.subscription.created", old)).status_code == 200
    new = subscribed(stripe_on, shop, lookup_key="team")
    assert deliver(Client(), path, stripe_on.event("customer.subscription.created", new)).status_code == 200
    assert plan_for(shop).code == PlanCode.TEAM
    stripe_on.set_status(old["id"], "canceled", period_end=int(time.time()) - 5)
    ended = stripe_on.event("customer.subscription.deleted", stripe_on.objects[old["id"]])
    assert deliver(Client(), path, ended).status_code == 200
    assert plan_for(shop).code == PlanCode.TEAM and billing_row(shop).subscription_id == new["id"]
    # A subscription of a customer that is no organization of ours changes nothing.
    stranger = stripe_on.add({**stripe_on.of_type("customer")[0], "id": "cus_stranger", "metadata": {}})
    theirs = stripe_on.subscribe(stranger["id"], stripe_catalog["pro"])
    assert deliver(Client(), path, stripe_on.event("customer.subscription.created", theirs)).status_code == 200
    assert plan_for(shop).code == PlanCode.TEAM and billing_row(shop).subscription_id == new["id"]


def test_past_due_keeps_the_plan_until_the_period_ends_then_free(
    shop: Organization, alice: User, stripe_on: StripeStandIn, stripe_catalog: dict[str, str]
) -> None:
    path = stripe_catalog["webhook"]
    post(as_user(alice), "/billing/upgrade", {"plan": "team"})
    subscription = subscribed(stripe_on, shop, lookup_key="team")
    assert deliver(Client(), path, stripe_on.event("customer.subscription.created", subscription)).status_code == 200
    assert plan_for(shop).code == PlanCode.TEAM
    period_end = int(time.time()) + 3 * 86400
    stripe_on.set_status(subscription["id"], "past_due", period_end=period_end)
    body = stripe_on.event("customer.subscription.updated", stripe_on.objects[subscription["id"]])
    assert deliver(Client(), path, body).status_code == 200
    row = billing_row(shop)
    assert row.subscription_status == "past_due"
    assert plan_of(row).code == PlanCode.TEAM  # paid until the period ends
    assert row.subscription_period_end is not None
    assert plan_of(row, now=row.subscription_period_end + timedelta(seconds=1)).code == PlanCode.FREE
    page = as_user(alice).get("/billing/")
    assert b"falls back to Free" in page.content


def test_a_failed_payment_mails_the_owners_once(
    shop: Organization,
    alice: User,
    charlie: User,
    stripe_on: StripeStandIn,
    stripe_catalog: dict[str, str],
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    plan_grant(organization=shop, plan="team")  # a second owner needs a seat the free plan lacks
    membership_set(organization=shop, user=charlie, role=Role.OWNER)
    plan_grant(organization=shop, plan="")
    path = stripe_catalog["webhook"]
    post(as_user(alice), "/billing/upgrade", {"plan": "pro"})
    subscription = subscribed(stripe_on, shop)
    stripe_on.set_status(subscription["id"], "past_due")
    invoice = stripe_on.invoice(Customer.objects.get(subscriber=shop).id, subscription["id"])
    body = stripe_on.event("invoice.payment_failed", invoice)
    with django_capture_on_commit_callbacks(execute=True):  # the mail goes once the event is stored
        assert deliver(Client(), path, body).status_code == 200
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert sorted(mail.to) == ["alice@example.com", "charlie@example.com"]  # owners, not bob the member
    assert "payment for Shop failed" in mail.subject
    assert "29.00 USD" in mail.body and "http://127.0.0.1" in mail.body and "/billing/" in mail.body
    # The invoice's subscription was synced on the way: past due, still on its plan.
    assert billing_row(shop).subscription_status == "past_due"
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(Client(), path, body).status_code == 200  # a replay mails nobody
    assert len(mailoutbox) == 1


# --- stripesetup ---------------------------------------------------------------------------


def test_stripesetup_makes_prices_and_the_endpoint_once(stripe_on: StripeStandIn, db: Any) -> None:
    out = io.StringIO()
    call_command("stripesetup", url="https://orchestra.example.com", stdout=out)
    first = out.getvalue()
    assert "pro: price price_" in first and "$29.00/month) created" in first
    assert "team: price price_" in first and "$99.00/month) created" in first
    endpoint = stripe_on.of_type("webhook_endpoint")[0]
    assert f"its signing secret (shown this once): {endpoint['secret']}" in first
    row = WebhookEndpoint.objects.get()
    assert endpoint["url"] == f"https://orchestra.example.com/stripe/webhook/{row.djstripe_uuid}/"
    assert "checkout.session.completed" in endpoint["enabled_events"]
    out = io.StringIO()
    call_command("stripesetup", url="https://orchestra.example.com", stdout=out)
    again = out.getvalue()
    assert "created" not in again and "signing secret" not in again and again.count("exists") == 3
    assert len(stripe_on.of_type("price")) == 2 and len(stripe_on.of_type("product")) == 2
    assert len(stripe_on.of_type("webhook_endpoint")) == 1
    assert {p["lookup_key"]: p["unit_amount"] for p in stripe_on.of_type("price")} == {"pro": 2900, "team": 9900}
    with pytest.raises(CommandError, match="--url"):
        call_command("stripesetup", url="orchestra.example.com")


# --- secrets -------------------------------------------------------------------------------


def test_no_stripe_secret_is_ever_written_to_the_database(
    shop: Organization,
    alice: User,
    stripe_on: StripeStandIn,
    stripe_catalog: dict[str, str],
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = as_user(alice)
    session = checkout_paid(client, stripe_on)
    path = stripe_catalog["webhook"]
    assert deliver(Client(), path, stripe_on.event("checkout.session.completed", session)).status_code == 200
    subscription = stripe_on.objects[session["subscription"]]
    assert deliver(Client(), path, stripe_on.event("customer.subscription.updated", subscription)).status_code == 200
    invoice = stripe_on.invoice(subscription["customer"], subscription["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(Client(), path, stripe_on.event("invoice.payment_failed", invoice)).status_code == 200
    assert post(client, "/billing/portal").status_code == 303
    assert plan_for(shop).code == PlanCode.PRO and len(mailoutbox) == 1
    # dj-stripe mirrored the account, customer, products, prices, session, subscription...
    assert Customer.objects.exists() and Event.objects.count() == 3
    endpoint_secret = stripe_on.of_type("webhook_endpoint")[0]["secret"]
    secrets = {"secret key": SECRET_KEY, "webhook secret": WEBHOOK_SECRET, "endpoint's secret": endpoint_secret}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [name for (name,) in cursor.fetchall()]
        assert sum(name.startswith("djstripe_") for name in tables) > 20
        found = []
        for table in tables:
            for label, secret in secrets.items():
                # Table names come from the catalog; the secret is a parameter.
                query = f'SELECT count(*) FROM "{table}" AS t WHERE t::text LIKE %s'  # noqa: S608
                cursor.execute(query, [f"%{secret}%"])
                if cursor.fetchone()[0]:
                    found.append(f"{label} in {table}")
    assert found == []
    assert not APIKey.objects.exists()
    assert WebhookEndpoint.objects.get().secret == ""
    # Whatever path tries, a secret key is refused at save.
    with pytest.raises(SecretStorageRefused):
        APIKey.objects.create(secret=SECRET_KEY, livemode=False, type="secret")
    with pytest.raises(SecretStorageRefused):
        APIKey.objects.get_or_create_by_api_key(SECRET_KEY)
