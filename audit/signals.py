"""Sign-ins: one audit row in each organization the person belongs to.

Signing in opens every organization the person is a member of (the organization
switcher needs no second sign-in), so each of those organizations' owners sees it
in their own trail (docs/decisions/0020)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver

from audit.actions import Action
from audit.context import address_of
from audit.services import record


@receiver(user_logged_in)
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Membership is accounts' model, a layer above: reached through the user's relation.
    memberships = getattr(user, "memberships", None)
    if memberships is None:
        return
    organization_ids = list(
        memberships.filter(organization__is_sandbox=False, organization__suspended_at__isnull=True).values_list(
            "organization_id", flat=True
        )
    )
    address = address_of(request) if request is not None else None
    with transaction.atomic():
        for organization_id in organization_ids:
            record(
                organization=organization_id,
                action=Action.SIGNED_IN,
                actor=user,
                ip_address=address,
                details={"method": getattr(getattr(request, "resolver_match", None), "url_name", "") or ""},
            )
