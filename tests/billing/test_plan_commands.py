"""`manage.py setplan` (an operator's grant, with or without an end) and
`manage.py recountusage` (counters set from the rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.invitations import invitation_create
from accounts.models import Invitation, Organization, Role, User
from accounts.services import organization_create, token_create
from billing.models import OrganizationBilling, UsageCounter
from billing.plans import PlanCode, Resource
from billing.selectors import plan_for
from billing.usage import used
from tests.conftest import ok


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def shop(settings: Any, db: Any) -> Organization:
    """An organization on free (billing on)."""
    settings.STRIPE_SECRET_KEY, settings.STRIPE_KEY = "sk_test_cmd", "pk_test_cmd"
    owner = User.objects.create_user("owner@shop.test")
    return organization_create(name="Shop", owner=owner, slug="shop")


def test_setplan_for_good(shop: Organization) -> None:
    assert "shop is on the Team plan until it is cleared" in run("setplan", "--org", "shop", "--plan", "team")
    billing = OrganizationBilling.objects.get(pk=shop.pk)
    assert billing.granted_plan == "team" and billing.granted_until is None
    assert plan_for(shop).code is PlanCode.TEAM and plan_for(shop.sandbox).code is PlanCode.TEAM
    assert "Grant ended: shop is on the Free plan" in run("setplan", "--org", "shop", "--clear")
    assert plan_for(shop).code is PlanCode.FREE
    run("setplan", "--org", "shop", "--plan", "pro")
    run("setplan", "--org", "shop", "--plan", "")  # an empty plan ends it too
    assert plan_for(shop).code is PlanCode.FREE


def test_setplan_until_a_day_then_falls_back(shop: Organization) -> None:
    day = (timezone.now() + timedelta(days=10)).date()
    out = run("setplan", "--org", "shop", "--plan", "team", "--until", day.isoformat())
    assert f"until the end of {day.isoformat()} (UTC)" in out
    billing = OrganizationBilling.objects.get(pk=shop.pk)
    assert billing.granted_until == datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert plan_for(shop).code is PlanCode.TEAM
    # After the day: back to what it had without the grant (free here; a paid
    # subscription's plan if it had one).
    OrganizationBilling.objects.filter(pk=shop.pk).update(granted_until=timezone.now() - timedelta(seconds=1))
    assert plan_for(shop).code is PlanCode.FREE
    OrganizationBilling.objects.filter(pk=shop.pk).update(
        subscription_plan="pro", subscription_status="active", subscription_id="sub_1"
    )
    assert plan_for(shop).code is PlanCode.PRO


def test_setplan_for_a_self_hosted_installation(db: Any) -> None:
    """Billing off: a self-hoster who wants limits grants a plan, and it holds."""
    org = organization_create(name="Selfhost", owner=User.objects.create_user("me@self.test"), slug="selfhost")
    assert plan_for(org).code is PlanCode.SELF_HOSTED
    run("setplan", "--org", "selfhost", "--plan", "free")
    assert plan_for(org).code is PlanCode.FREE


@pytest.mark.parametrize(
    "args, message",
    [
        (["--org", "nope", "--plan", "team"], "No organization with slug 'nope'"),
        (["--org", "shop-sandbox", "--plan", "team"], "No organization with slug 'shop-sandbox'"),
        (["--org", "shop", "--plan", "platinum"], "plan must be one of free, pro, team, enterprise, self_hosted"),
        (["--org", "shop", "--plan", "team", "--until", "2001-01-01"], "--until 2001-01-01 is in the past"),
        (["--org", "shop", "--plan", "team", "--until", "next week"], "--until must be a date, YYYY-MM-DD"),
        (["--org", "shop"], "Give --plan"),
        (["--org", "shop", "--plan", "team", "--clear"], "either --plan or --clear"),
    ],
)
def test_setplan_errors_change_nothing(shop: Organization, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("setplan", *args)
    billing = OrganizationBilling.objects.get(pk=shop.pk)
    assert billing.granted_plan == "" and billing.granted_until is None


def test_recountusage_sets_counters_from_rows(shop: Organization, call: Any) -> None:
    from accounts.auth import authenticate_token

    owner = User.objects.get(email="owner@shop.test")
    run("setplan", "--org", "shop", "--plan", "team")
    identity = authenticate_token(token_create(organization=shop, user=owner, name="t").raw)
    token_create(organization=shop, user=owner, name="test", mode="test")
    ok(call(identity, "create_project", name="Kept"))
    ok(call(identity, "store_memory", content="twelve bytes", scope="organization"))
    invitation_create(organization=shop, email="late@shop.test", role=Role.MEMBER, invited_by=owner)
    Invitation.objects.update(expires_at=timezone.now())  # lapsed: its seat comes back
    UsageCounter.objects.filter(organization=shop).update(used=999)  # drifted
    out = run("recountusage", "--org", "shop")
    assert "Recounting 2 organization(s)" in out and "[2/2]" in out and "Recounted 2 organization(s)" in out
    assert "shop: members 1/25, projects 1, tokens 1" in out
    assert used(shop.pk, Resource.MEMBERS) == 1 and used(shop.pk, Resource.PROJECTS) == 1
    assert used(shop.pk, Resource.TOKENS) == 1 and used(shop.sandbox.pk, Resource.TOKENS) == 1
    assert used(shop.pk, Resource.MEMORY_BYTES) == len("twelve bytes")
    assert used(shop.pk, Resource.AGENTS) == 0
    with pytest.raises(CommandError, match="No organization with slug 'gone'"):
        run("recountusage", "--org", "gone")
    assert "Recounted" in run("recountusage")
