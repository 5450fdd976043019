"""Plan limits where rows are written: every limit at its boundary over MCP (the tool
layer) and REST (402), the sandbox counted on its own, downgrades that keep every row,
billing off meaning no limit at all, and the per-plan rate limit."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from accounts.auth import TokenIdentity, authenticate_token
from accounts.invitations import invitation_accept, invitation_create, invitation_revoke, invitations_lapse
from accounts.members import member_remove
from accounts.models import Invitation, MCPToken, Membership, Organization, Role, User
from accounts.services import membership_set, organization_create, token_create, token_revoke
from billing.apps import check_plan_rate_limits
from billing.models import OrganizationBilling, UsageCounter
from billing.plans import MB, PLANS, PlanCode, Resource
from billing.selectors import meters_context, plan_for, upgrade_url
from billing.services import plan_grant
from billing.usage import PlanLimitReached, period_of, used
from orchestra.settings import plan_rate_limits
from tests.conftest import error_code, ok

FREE = PLANS[PlanCode.FREE]


@pytest.fixture
def billing_on(settings: Any) -> None:
    """Billing switched on (Stripe's keys set; nothing here calls Stripe)."""
    settings.STRIPE_SECRET_KEY = "sk_test_limits"
    settings.STRIPE_KEY = "pk_test_limits"


@pytest.fixture
def dora(db: Any) -> User:
    return User.objects.create_user("dora@example.com", "pw-dora-123456", name="Dora")


@pytest.fixture
def tiny(billing_on: None, dora: User) -> Organization:
    """An organization made while billing is on: the free plan."""
    return organization_create(name="Tiny", owner=dora)


@pytest.fixture
def dora_token(tiny: Organization, dora: User) -> str:
    return token_create(organization=tiny, user=dora, name="laptop").raw  # 1 of the 2 tokens


@pytest.fixture
def dora_id(dora_token: str) -> TokenIdentity:
    return authenticate_token(dora_token)


def set_used(org: Organization, resource: Resource, value: int) -> None:
    """Put a counter just below a limit (the last slot) without writing that many rows."""
    UsageCounter.objects.update_or_create(
        organization=org, resource=resource.value, period=period_of(resource), defaults={"used": value}
    )


def refusal(outcome: Any) -> dict[str, Any]:
    assert error_code(outcome) == "plan_limit", outcome.structured
    return outcome.structured["error"]


def test_a_new_organization_with_billing_on_starts_on_free(tiny: Organization) -> None:
    assert OrganizationBilling.objects.get(pk=tiny.pk).base_plan == PlanCode.FREE
    assert plan_for(tiny).code is PlanCode.FREE and plan_for(tiny.sandbox).code is PlanCode.FREE
    assert used(tiny.pk, Resource.MEMBERS) == 1  # the owner's seat


def test_an_organization_made_before_billing_keeps_self_hosted(settings: Any, dora: User) -> None:
    old = organization_create(name="Old", owner=dora)  # billing off (the default)
    settings.STRIPE_SECRET_KEY, settings.STRIPE_KEY = "sk_test_limits", "pk_test_limits"
    assert plan_for(old).code is PlanCode.SELF_HOSTED
    assert plan_for(organization_create(name="New", owner=dora)).code is PlanCode.FREE


def test_billing_off_means_no_limit(call: Any, dora: User) -> None:
    org = organization_create(name="Home", owner=dora)
    identity = authenticate_token(token_create(organization=org, user=dora, name="t").raw)
    for n in range(4):  # the free plan allows 1 project and 3 agents
        ok(call(identity, "create_project", name=f"P{n}"))
        ok(call(identity, "create_agent", name=f"A{n}"))
    for n in range(3):
        token_create(organization=org, user=dora, name=f"more {n}")
    assert plan_for(org).code is PlanCode.SELF_HOSTED
    assert used(org.pk, Resource.PROJECTS) == 4  # still counted, for a plan set later
    context = ok(call(identity, "get_context"))
    assert context["plan"]["code"] == "self_hosted" and "warnings" not in context
    assert context["plan"]["requests_per_minute"] == settings_rate_limit()


def settings_rate_limit() -> int:
    from django.conf import settings

    return int(settings.MCP_RATE_LIMIT_PER_MINUTE)


# --- each limit at its boundary, over MCP ------------------------------------------------


def test_projects_last_slot_then_refused(call: Any, dora_id: TokenIdentity, tiny: Organization) -> None:
    ok(call(dora_id, "create_project", name="Only"))  # 1 of 1
    error = refusal(call(dora_id, "create_project", name="Second"))
    assert error["details"] == {
        "resource": "projects",
        "limit": 1,
        "used": 1,
        "plan": "free",
        "upgrade_url": upgrade_url(),
    }
    assert error["message"] == "the Free plan allows 1 active project; this organization uses 1: " + (
        f"upgrade at {upgrade_url()}" if upgrade_url() else "an operator can change the plan"
    )
    assert [p["slug"] for p in ok(call(dora_id, "list_projects"))["items"]] == ["only"]  # nothing half-written
    # Archiving gives the slot back; bringing it back needs one again.
    ok(call(dora_id, "archive_project", project="only"))
    ok(call(dora_id, "create_project", name="Second"))
    refusal(call(dora_id, "update_project", project="only", status="active"))
    assert used(tiny.pk, Resource.PROJECTS) == 1


def test_agents_last_slot_then_refused_and_delete_gives_back(
    call: Any, dora_id: TokenIdentity, tiny: Organization
) -> None:
    for n in range(3):
        ok(call(dora_id, "create_agent", name=f"Agent {n}"))
    error = refusal(call(dora_id, "create_agent", name="Fourth"))
    assert error["details"]["limit"] == 3 and error["details"]["used"] == 3
    ok(call(dora_id, "delete_agent", agent="agent-0"))
    assert used(tiny.pk, Resource.AGENTS) == 2
    ok(call(dora_id, "create_agent", name="Fourth"))


def test_tasks_count_per_month_and_are_never_given_back(call: Any, dora_id: TokenIdentity, tiny: Organization) -> None:
    ok(call(dora_id, "create_project", name="Work"))
    set_used(tiny, Resource.TASKS, FREE.limit(Resource.TASKS) - 1)  # type: ignore[operator]
    task = ok(call(dora_id, "create_task", project="work", title="The hundredth"))
    error = refusal(call(dora_id, "create_task", project="work", title="One more"))
    assert error["details"]["limit"] == 100 and error["details"]["used"] == 100
    ok(call(dora_id, "delete_task", task=task["id"]))
    refusal(call(dora_id, "create_task", project="work", title="Still no"))
    counter = UsageCounter.objects.get(organization=tiny, resource="tasks")
    assert counter.period == timezone.now().strftime("%Y-%m")  # this calendar month (UTC)
    # Next month starts at zero: last month's counter is simply not this month's.
    UsageCounter.objects.filter(pk=counter.pk).update(period="1999-01")
    ok(call(dora_id, "create_task", project="work", title="A new month"))


def test_memory_bytes_last_byte_then_refused(call: Any, dora_id: TokenIdentity, tiny: Organization) -> None:
    content = "naïve café: " + "x" * 100  # multi-byte characters count as their UTF-8 bytes
    size = len(content.encode())
    assert size > len(content)
    set_used(tiny, Resource.MEMORY_BYTES, 50 * MB - size)
    stored = ok(call(dora_id, "store_memory", content=content, scope="organization"))["memory"]
    assert used(tiny.pk, Resource.MEMORY_BYTES) == 50 * MB
    error = refusal(call(dora_id, "store_memory", content="one more byte", scope="organization"))
    assert error["details"]["resource"] == "memory_bytes" and error["details"]["limit"] == 50 * MB
    assert "50.0 MB of memory" in error["message"]
    # Storing the identical content again is no new row and costs nothing.
    again = ok(call(dora_id, "store_memory", content=content, scope="organization"))
    assert again["duplicate"] and again["memory"]["id"] == stored["id"]
    ok(call(dora_id, "delete_memory", memory=stored["id"]))
    assert used(tiny.pk, Resource.MEMORY_BYTES) == 50 * MB - size
    ok(call(dora_id, "store_memory", content="one more byte", scope="organization"))


def test_clearing_and_deleting_an_agents_memories_gives_bytes_back(
    call: Any, dora_id: TokenIdentity, tiny: Organization
) -> None:
    ok(call(dora_id, "create_agent", name="Scribe"))
    for text in ("first note", "second, longer note"):
        ok(call(dora_id, "store_memory", content=text, scope="agent", agent="scribe"))
    ok(call(dora_id, "store_memory", content="kept", scope="organization"))
    assert used(tiny.pk, Resource.MEMORY_BYTES) == len("first note") + len("second, longer note") + len("kept")
    assert ok(call(dora_id, "clear_memory", scope="agent", agent="scribe"))["deleted"] == 2
    assert used(tiny.pk, Resource.MEMORY_BYTES) == len("kept")
    ok(call(dora_id, "store_memory", content="archived, still counted", scope="agent", agent="scribe"))
    ok(call(dora_id, "delete_agent", agent="scribe"))  # archives its memories: still stored
    assert used(tiny.pk, Resource.MEMORY_BYTES) == len("kept") + len("archived, still counted")


def test_tokens_last_slot_then_refused_and_revoke_gives_back_once(
    dora: User, tiny: Organization, dora_token: str
) -> None:
    second = token_create(organization=tiny, user=dora, name="second")  # 2 of 2
    with pytest.raises(PlanLimitReached) as refused:
        token_create(organization=tiny, user=dora, name="third")
    assert refused.value.code == "plan_limit" and refused.value.details["resource"] == "tokens"
    assert MCPToken.objects.filter(organization=tiny).count() == 2  # nothing created
    token_revoke(token=second.token)
    token_revoke(token=MCPToken.objects.get(pk=second.token.pk))  # again: released once
    assert used(tiny.pk, Resource.TOKENS) == 1
    token_create(organization=tiny, user=dora, name="third")


def test_members_invitations_hold_seats(billing_on: None, dora: User, bob: User, tiny: Organization) -> None:
    plan_grant(organization=tiny, plan="pro")  # 5 seats
    for n in range(4):
        invitation_create(organization=tiny, email=f"p{n}@example.com", role=Role.MEMBER, invited_by=dora)
    assert used(tiny.pk, Resource.MEMBERS) == 5  # the owner and four pending invitations
    with pytest.raises(PlanLimitReached) as refused:
        invitation_create(organization=tiny, email="bob@example.com", role=Role.MEMBER, invited_by=dora)
    assert refused.value.details == {
        "resource": "members",
        "limit": 5,
        "used": 5,
        "plan": "pro",
        "upgrade_url": upgrade_url(),
    }
    assert not Invitation.objects.filter(email="bob@example.com").exists()
    # Inviting the same address again replaces its invitation: no second seat.
    invitation_create(organization=tiny, email="p0@example.com", role=Role.ADMIN, invited_by=dora)
    assert used(tiny.pk, Resource.MEMBERS) == 5
    # Withdrawing one frees its seat (once, however often).
    withdrawn = Invitation.objects.get(email="p1@example.com")
    invitation_revoke(invitation=withdrawn, by=dora)
    invitation_revoke(invitation=withdrawn, by=dora)
    assert used(tiny.pk, Resource.MEMBERS) == 4
    # One that expires gives its seat back when it lapses, and still reads "expired".
    lapsed = Invitation.objects.get(email="p2@example.com")
    Invitation.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now())
    assert invitations_lapse(organization_id=tiny.pk) == 1 and invitations_lapse(organization_id=tiny.pk) == 0
    lapsed.refresh_from_db()
    assert lapsed.status == "expired" and used(tiny.pk, Resource.MEMBERS) == 3
    # Accepting turns the invitation's seat into the member's.
    issued = invitation_create(organization=tiny, email="bob@example.com", role=Role.MEMBER, invited_by=dora)
    assert used(tiny.pk, Resource.MEMBERS) == 4
    membership = invitation_accept(invitation=issued.invitation, user=bob)
    assert used(tiny.pk, Resource.MEMBERS) == 4
    # Removing a member frees the seat and the slots of the tokens revoked with them.
    token_create(organization=tiny, user=bob, name="bob's")
    token_create(organization=tiny, user=bob, name="bob's test", mode="test")
    assert used(tiny.pk, Resource.TOKENS) == 1 and used(tiny.sandbox.pk, Resource.TOKENS) == 1
    member_remove(membership=membership, by=Membership.objects.get(organization=tiny, user=dora))
    assert used(tiny.pk, Resource.MEMBERS) == 3
    assert used(tiny.pk, Resource.TOKENS) == 0 and used(tiny.sandbox.pk, Resource.TOKENS) == 0


def test_accepting_after_a_downgrade_is_refused(billing_on: None, dora: User, bob: User, tiny: Organization) -> None:
    plan_grant(organization=tiny, plan="pro")
    issued = invitation_create(organization=tiny, email="bob@example.com", role=Role.MEMBER, invited_by=dora)
    plan_grant(organization=tiny, plan="")  # back to free: 2 seats held, 1 allowed
    with pytest.raises(PlanLimitReached):
        invitation_accept(invitation=issued.invitation, user=bob)
    issued.invitation.refresh_from_db()
    assert issued.invitation.status == "pending"  # nothing changed: it may be accepted later
    assert not Membership.objects.filter(organization=tiny, user=bob).exists()
    assert used(tiny.pk, Resource.MEMBERS) == 2


def test_membership_set_takes_a_seat(billing_on: None, dora: User, bob: User, tiny: Organization) -> None:
    with pytest.raises(PlanLimitReached):
        membership_set(organization=tiny, user=bob, role=Role.MEMBER)
    membership_set(organization=tiny, user=dora, role=Role.OWNER)  # an existing member: no new seat
    assert used(tiny.pk, Resource.MEMBERS) == 1


# --- REST ---------------------------------------------------------------------------------


def rest(token: str, tool: str, **arguments: Any) -> Any:
    return Client().post(
        f"/api/v1/tools/{tool}", data=arguments, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_rest_answers_a_limit_with_402(dora_token: str, tiny: Organization) -> None:
    assert rest(dora_token, "create_project", name="One").status_code == 200
    response = rest(dora_token, "create_project", name="Two")
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "plan_limit"
    assert error["details"] == {
        "resource": "projects",
        "limit": 1,
        "used": 1,
        "plan": "free",
        "upgrade_url": upgrade_url(),
    }
    # The per-plan rate limit: free allows 120 requests a minute.
    assert response.headers["X-RateLimit-Limit"] == "120"
    for n in range(3):
        assert rest(dora_token, "create_agent", name=f"A{n}").status_code == 200
    assert rest(dora_token, "create_agent", name="A3").status_code == 402
    set_used(tiny, Resource.TASKS, 100)
    assert rest(dora_token, "create_task", project="one", title="t").status_code == 402
    set_used(tiny, Resource.MEMORY_BYTES, 50 * MB)
    assert rest(dora_token, "store_memory", content="m", scope="organization").status_code == 402


def test_a_plan_change_reaches_the_rate_limit_at_once_here(
    dora_token: str, tiny: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    assert rest(dora_token, "get_context").headers["X-RateLimit-Limit"] == "120"
    with django_capture_on_commit_callbacks(execute=True):
        plan_grant(organization=tiny, plan="team")  # forgets this process's cached identities
    response = rest(dora_token, "get_context")
    assert response.headers["X-RateLimit-Limit"] == "1200"
    assert response.json()["plan"]["code"] == "team"


def test_an_operator_sets_a_plans_rate_limit(settings: Any, dora_token: str) -> None:
    """MCP_PLAN_RATE_LIMITS overrides a plan's requests per minute (free's 120 here);
    the plans it does not name keep their own."""
    settings.MCP_PLAN_RATE_LIMITS = {"free": 5000}
    response = rest(dora_token, "get_context")
    assert response.headers["X-RateLimit-Limit"] == "5000"
    assert response.json()["plan"]["requests_per_minute"] == 5000
    assert PLANS[PlanCode.PRO].rate_limit_per_minute == 600


def test_plan_rate_limits_are_read_and_checked() -> None:
    assert plan_rate_limits(" Team=100000, pro=600 ,") == {"team": 100_000, "pro": 600}
    assert plan_rate_limits("") == {}
    for wrong in ("team", "team=", "team=0", "team=-5", "team=fast"):
        with pytest.raises(ImproperlyConfigured, match="MCP_PLAN_RATE_LIMITS"):
            plan_rate_limits(wrong)
    check_plan_rate_limits({"team": 1, "self_hosted": 2})
    with pytest.raises(ImproperlyConfigured, match="unknown plans \\['gold'\\]"):
        check_plan_rate_limits({"gold": 1, "team": 1})


# --- the sandbox --------------------------------------------------------------------------


def test_the_sandbox_is_counted_on_its_own(call: Any, dora: User, dora_id: TokenIdentity, tiny: Organization) -> None:
    sandbox_id = authenticate_token(token_create(organization=tiny, user=dora, name="t", mode="test").raw)
    assert used(tiny.pk, Resource.TOKENS) == 1 and used(tiny.sandbox.pk, Resource.TOKENS) == 1
    ok(call(sandbox_id, "create_project", name="Play"))
    ok(call(sandbox_id, "store_memory", content="sandbox memory", scope="organization"))
    assert used(tiny.pk, Resource.PROJECTS) == 0 and used(tiny.pk, Resource.MEMORY_BYTES) == 0
    ok(call(dora_id, "create_project", name="Real"))  # the live slot is still free
    # The same limits, counted on its own.
    error = refusal(call(sandbox_id, "create_project", name="Play more"))
    assert error["details"]["plan"] == "free" and error["details"]["used"] == 1
    context = ok(call(sandbox_id, "get_context"))
    assert context["organization"]["sandbox"] is True
    assert context["usage"]["projects"] == 1 and context["usage"]["memory_bytes"] == len("sandbox memory")


# --- downgrades ---------------------------------------------------------------------------


def test_a_downgrade_keeps_every_row_and_refuses_new_ones(
    call: Any, dora: User, dora_id: TokenIdentity, tiny: Organization
) -> None:
    plan_grant(organization=tiny, plan="pro")
    pro_id = authenticate_token(token_create(organization=tiny, user=dora, name="pro").raw)
    later = token_create(organization=tiny, user=dora, name="later").raw  # 3 tokens: pro has no token limit
    for n in range(3):
        ok(call(pro_id, "create_project", name=f"P{n}"))
    plan_grant(organization=tiny, plan="")  # free again
    identity = authenticate_token(later)
    assert identity.plan_code == "free"
    with pytest.raises(PlanLimitReached):
        token_create(organization=tiny, user=dora, name="one more")
    assert len(ok(call(identity, "list_projects"))["items"]) == 3  # nothing deleted or hidden
    ok(call(identity, "get_project", project="p2"))
    refusal(call(identity, "create_project", name="P3"))
    context = ok(call(identity, "get_context"))
    assert "projects: 3 of 1 (over the limit)" in context["warnings"]
    assert "tokens: 3 of 2 (over the limit)" in context["warnings"]
    meters = meters_context(tiny)
    assert meters["any_over"] is True
    row = next(m for m in meters["meters"] if m["label"] == "Projects")
    assert row["over"] and row["used"] == "3" and row["limit"] == "1"


def test_get_context_warns_at_80_percent(call: Any, dora_id: TokenIdentity, tiny: Organization) -> None:
    for n in range(2):
        ok(call(dora_id, "create_agent", name=f"A{n}"))  # 2 of 3: 67%
    # The free plan's one seat is taken by its owner: always at 100%.
    assert ok(call(dora_id, "get_context"))["warnings"] == ["members: 1 of 1 (100% used)"]
    set_used(tiny, Resource.TASKS, 80)  # 80 of 100
    from billing.selectors import _usage_cache

    _usage_cache.pop(tiny.pk)
    context = ok(call(dora_id, "get_context"))
    assert context["plan"]["limits"] == {
        "members": 1,
        "projects": 1,
        "tokens": 2,
        "agents": 3,
        "tasks": 100,
        "memory_bytes": 50 * MB,
    }
    assert context["plan"]["requests_per_minute"] == 120
    assert context["usage"]["tasks"] == 80 and context["usage"]["agents"] == 2
    assert "tasks: 80 of 100 (80% used)" in context["warnings"]
    assert "members: 1 of 1 (100% used)" in context["warnings"]
    assert not any(w.startswith("agents") for w in context["warnings"])


def test_expired_invitations_lapse_hourly(billing_on: None, dora: User, tiny: Organization) -> None:
    from django.conf import settings

    from accounts.tasks import lapse_expired_invitations

    assert (
        settings.CELERY_BEAT_SCHEDULE["lapse-expired-invitations"]["task"] == "accounts.tasks.lapse_expired_invitations"
    )
    plan_grant(organization=tiny, plan="pro")
    invitation_create(organization=tiny, email="slow@example.com", role=Role.MEMBER, invited_by=dora)
    assert used(tiny.pk, Resource.MEMBERS) == 2
    assert lapse_expired_invitations() == 0  # still valid: keeps its seat
    Invitation.objects.update(expires_at=timezone.now())
    assert lapse_expired_invitations() == 1 and lapse_expired_invitations() == 0
    assert used(tiny.pk, Resource.MEMBERS) == 1
    assert Invitation.objects.get().status == "expired"
