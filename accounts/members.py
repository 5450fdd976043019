"""Members of an organization: change a role, remove someone, leave.

Owners and admins manage members; only owners make or unmake owners. An
organization always keeps an owner: its last owner cannot leave, be demoted or be
removed. Checks of the owner count lock the owners' rows, so two owners demoting
each other at once cannot leave the organization without one.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import MCPToken, Membership, Role
from orchestra.errors import Conflict, InvalidArguments, PermissionDenied

MANAGERS = (Role.OWNER, Role.ADMIN)
LAST_OWNER = "an organization needs an owner: make someone else owner first"


def members_of(organization_id: uuid.UUID) -> QuerySet[Membership]:
    return Membership.objects.filter(organization_id=organization_id).select_related("user").order_by("user__email")


def _check_manager(target: Membership, by: Membership) -> None:
    if by.organization_id != target.organization_id or by.role not in MANAGERS:
        raise PermissionDenied("only owners and admins manage members")
    if target.role == Role.OWNER and by.role != Role.OWNER:
        raise PermissionDenied("only owners change or remove owners")


def _other_owners_exist(membership: Membership) -> bool:
    owners = list(
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    return any(pk != membership.pk for pk in owners)


def member_set_role(*, membership: Membership, role: str, by: Membership) -> Membership:
    if role not in Role.values:
        raise InvalidArguments(f"role must be one of {', '.join(Role.values)}")
    _check_manager(membership, by)
    if role == Role.OWNER and by.role != Role.OWNER:
        raise PermissionDenied("only owners make someone owner")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.role == Role.OWNER and role != Role.OWNER and not _other_owners_exist(locked):
            raise Conflict(LAST_OWNER)
        locked.role = role
        locked.save(update_fields=["role"])
    return locked


def _delete(membership: Membership) -> None:
    """Remove the membership and revoke the person's tokens there, so that joining
    again later does not bring old tokens back to life."""
    with transaction.atomic():
        locked = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if locked is None:
            return
        if locked.role == Role.OWNER and not _other_owners_exist(locked):
            raise Conflict(LAST_OWNER)
        for token in MCPToken.objects.filter(
            organization_id=locked.organization_id, user_id=locked.user_id, revoked_at__isnull=True
        ):
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])  # the signal closes its open streams
        locked.delete()


def member_remove(*, membership: Membership, by: Membership) -> None:
    """An owner or admin removes someone else (leaving is `member_leave`)."""
    if membership.pk == by.pk:
        raise InvalidArguments("to remove yourself, leave the organization")
    _check_manager(membership, by)
    _delete(membership)


def member_leave(*, membership: Membership) -> None:
    """A member leaves an organization (never its last owner)."""
    _delete(membership)
