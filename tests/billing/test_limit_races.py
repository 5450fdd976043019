"""Two writers racing for an organization's last slot, each on its own thread and
database connection: exactly one gets it, the other is refused with plan_limit (the
conditional counter update, never a count of rows)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.auth import authenticate_token
from accounts.models import MCPToken, User
from accounts.services import organization_create, token_create, token_revoke
from billing.plans import Resource
from billing.usage import used
from tests.races import race
from tools.mcp.dispatch import call_tool
from tools.mcp.registry import ToolOutcome
from tools.projects.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4


@pytest.fixture
def free_org(settings: Any) -> tuple[Any, Any]:
    settings.STRIPE_SECRET_KEY, settings.STRIPE_KEY = "sk_test_race", "pk_test_race"
    owner = User.objects.create_user("racer@example.com", "pw-racer-123456")
    org = organization_create(name="Racers", owner=owner)
    return org, owner


def test_two_agents_racing_for_the_last_project(free_org: tuple[Any, Any]) -> None:
    org, owner = free_org
    identity = authenticate_token(token_create(organization=org, user=owner, name="agents").raw)
    for round_ in range(ROUNDS):
        outcomes: list[ToolOutcome] = race(
            lambda r=round_: call_tool("create_project", {"name": f"Left {r}"}, identity),
            lambda r=round_: call_tool("create_project", {"name": f"Right {r}"}, identity),
        )
        assert all(isinstance(o, ToolOutcome) for o in outcomes), outcomes  # no database error
        winners = [o for o in outcomes if not o.is_error]
        losers = [o for o in outcomes if o.is_error]
        assert len(winners) == 1 and len(losers) == 1, [o.structured for o in outcomes]
        error = losers[0].structured["error"]
        assert error["code"] == "plan_limit" and error["details"]["used"] == 1 and error["details"]["limit"] == 1
        assert Project.unscoped.filter(organization=org, status="active").count() == 1
        # Archive the winner: the slot is free for the next round.
        assert not call_tool("archive_project", {"project": winners[0].structured["slug"]}, identity).is_error
    assert used(org.pk, Resource.PROJECTS) == 0


def test_two_revocations_of_one_token_give_its_slot_back_once(free_org: tuple[Any, Any]) -> None:
    org, owner = free_org
    token_create(organization=org, user=owner, name="kept")
    for _ in range(ROUNDS):
        issued = token_create(organization=org, user=owner, name="doomed")
        assert used(org.pk, Resource.TOKENS) == 2
        outcomes = race(
            lambda t=issued.token.pk: token_revoke(token=MCPToken.objects.get(pk=t)),
            lambda t=issued.token.pk: token_revoke(token=MCPToken.objects.get(pk=t)),
        )
        assert all(isinstance(o, MCPToken) and o.revoked_at is not None for o in outcomes), outcomes
        assert used(org.pk, Resource.TOKENS) == 1
