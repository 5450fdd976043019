"""The onboarding steps and where a person stands in them.

Completion is read from the data itself (an organization exists, teammates were
invited or joined, a token exists); the only stored state is the list of steps a
member chose to skip for now (Membership.onboarding_skipped).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.fields import ArrayField
from django.db.models import CharField, F, Func, Value

from accounts.models import Invitation, MCPToken, Membership, Role
from orchestra.errors import InvalidArguments

ORGANIZATION, INVITE, TOKEN = "organization", "invite", "token"
TITLES = {ORGANIZATION: "Name your organization", INVITE: "Invite your team", TOKEN: "Create a token"}
# Not a step: hides the dashboard's setup banner for good.
DISMISSED = "dismissed"
SKIPPABLE = (INVITE, TOKEN, DISMISSED)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    skipped: bool

    @property
    def remaining(self) -> bool:
        return not (self.done or self.skipped)


def onboarding_steps(membership: Membership | None) -> list[Step]:
    """The steps that apply to this membership (inviting is for owners and admins)."""
    if membership is None:
        return [Step(key, TITLES[key], done=False, skipped=False) for key in _keys(None)]
    org_id, skipped = membership.organization_id, set(membership.onboarding_skipped)
    done = {
        ORGANIZATION: True,
        INVITE: Invitation.objects.filter(organization_id=org_id).exists()
        or Membership.objects.filter(organization_id=org_id).exclude(pk=membership.pk).exists(),
        TOKEN: MCPToken.objects.filter(organization_id=org_id, user_id=membership.user_id).exists(),
    }
    return [Step(key, TITLES[key], done=done[key], skipped=key in skipped) for key in _keys(membership)]


def _keys(membership: Membership | None) -> list[str]:
    if membership is not None and membership.role not in (Role.OWNER, Role.ADMIN):
        return [ORGANIZATION, TOKEN]
    return [ORGANIZATION, INVITE, TOKEN]


def next_step(membership: Membership | None) -> str | None:
    """The first step still to do, or None when onboarding is finished."""
    return next((step.key for step in onboarding_steps(membership) if step.remaining), None)


def onboarding_skip(*, membership: Membership, step: str) -> None:
    """Skip a step for now; it stays reachable from the dashboard's setup banner."""
    if step not in SKIPPABLE:
        raise InvalidArguments(f"only these steps can be skipped: {', '.join(SKIPPABLE)}")
    if step not in membership.onboarding_skipped:
        # Appended in SQL: two tabs skipping two steps at once keep both.
        Membership.objects.filter(pk=membership.pk).exclude(onboarding_skipped__contains=[step]).update(
            onboarding_skipped=Func(
                F("onboarding_skipped"),
                Value(step),
                function="array_append",
                output_field=ArrayField(CharField(max_length=20)),
            )
        )
        membership.onboarding_skipped = [*membership.onboarding_skipped, step]
