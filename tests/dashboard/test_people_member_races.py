"""Two owners changing each other at the same moment: one wins, the other gets a clear
refusal, never "deadlock detected" (the lock order of docs/decisions/0010)."""

from __future__ import annotations

import pytest

from accounts.members import member_leave, member_set_role
from accounts.models import Membership, Organization, Role, User
from accounts.services import membership_set, organization_create
from orchestra.errors import ToolError
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 6


@pytest.fixture
def owners(alice: User, bob: User) -> Organization:
    org = organization_create(name="Twin owners", owner=alice)
    membership_set(organization=org, user=bob, role=Role.OWNER)
    return org


def _membership(org: Organization, user: User) -> Membership:
    return Membership.objects.select_related("user").get(organization=org, user=user)


def test_two_owners_demoting_each_other_at_once(owners: Organization, alice: User, bob: User) -> None:
    for _ in range(ROUNDS):
        Membership.objects.filter(organization=owners).update(role=Role.OWNER)
        a, b = _membership(owners, alice), _membership(owners, bob)
        outcomes = race(
            lambda a=a, b=b: member_set_role(membership=b, role=Role.ADMIN, by=a),
            lambda a=a, b=b: member_set_role(membership=a, role=Role.ADMIN, by=b),
        )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(failures) == 1, outcomes  # one wins...
        loser = failures[0]
        assert isinstance(loser, ToolError), repr(loser)  # ...the other is told why, no deadlock
        assert "owner" in loser.message
        assert Membership.objects.filter(organization=owners, role=Role.OWNER).count() == 1


def test_two_owners_leaving_at_once(owners: Organization, alice: User, bob: User) -> None:
    for _ in range(ROUNDS):
        Membership.objects.filter(organization=owners).delete()
        a = Membership.objects.create(organization=owners, user=alice, role=Role.OWNER)
        b = Membership.objects.create(organization=owners, user=bob, role=Role.OWNER)
        outcomes = race(lambda a=a: member_leave(membership=a), lambda b=b: member_leave(membership=b))
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(failures) == 1, outcomes
        assert isinstance(failures[0], ToolError), repr(failures[0])
        assert "needs an owner" in failures[0].message
        assert Membership.objects.filter(organization=owners, role=Role.OWNER).count() == 1
