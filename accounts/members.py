"""Members of an organization: change a role, remove someone, leave.

Owners and admins manage members; only owners make or unmake owners. An
organization always keeps an owner: its last owner cannot leave, be demoted or be
removed.

Locks follow docs/decisions/0010: the organization row first, then memberships (in
primary-key order), then anything else. Every change of who belongs to an
organization takes the organization's row first, so two of them (two owners demoting
each other, or both leaving, at the same moment) run one after the other instead of
deadlocking; the second then re-checks everything against what the first did, and
is refused with a message that says why.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import MCPToken, Membership, Organization, Role, TokenMode
from audit.actions import Action
from audit.services import record
from billing.plans import Resource
from billing.services import usage_release
from orchestra.errors import Conflict, InvalidArguments, PermissionDenied

MANAGERS = (Role.OWNER, Role.ADMIN)
LAST_OWNER = "an organization needs an owner: make someone else owner first"
GONE = "this person is no longer a member of the organization"


def members_of(organization_id: uuid.UUID) -> QuerySet[Membership]:
    return Membership.objects.filter(organization_id=organization_id).select_related("user").order_by("user__email")


def lock_organization(organization_id: uuid.UUID) -> None:
    """Take the organization's row lock: the first lock of any change to its members
    (docs/decisions/0010). FOR NO KEY UPDATE: it serializes those changes without
    blocking the inserts of the organization's other rows, whose foreign keys only
    take a KEY SHARE lock on it."""
    Organization.objects.select_for_update(no_key=True).filter(pk=organization_id).values_list("pk").first()


def _check_manager(target: Membership, by: Membership) -> None:
    if by.organization_id != target.organization_id or by.role not in MANAGERS:
        raise PermissionDenied("only owners and admins manage members")
    if target.role == Role.OWNER and by.role != Role.OWNER:
        raise PermissionDenied("only owners change or remove owners")


def _locked(membership: Membership, missing: str) -> Membership:
    """The membership's current row, locked (the organization's lock is held)."""
    locked = Membership.objects.select_for_update().filter(pk=membership.pk).first()
    if locked is None:
        raise PermissionDenied(missing)
    return locked


def _other_owners_exist(membership: Membership) -> bool:
    owners = list(
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Role.OWNER)
        .order_by("pk")
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
        lock_organization(membership.organization_id)
        # Both rows again, as they are now: someone may have changed them meanwhile
        # (the caller's own role included).
        by_now = _locked(by, "you are no longer a member of this organization")
        locked = _locked(membership, GONE)
        _check_manager(locked, by_now)
        if role == Role.OWNER and by_now.role != Role.OWNER:
            raise PermissionDenied("only owners make someone owner")
        if locked.role == Role.OWNER and role != Role.OWNER and not _other_owners_exist(locked):
            raise Conflict(LAST_OWNER)
        previous = locked.role
        locked.role = role
        locked.save(update_fields=["role"])
        if previous != role:
            record(
                organization=locked.organization_id,
                action=Action.ROLE_CHANGED,
                actor=by_now.user_id,
                target=locked.user.email,
                details={"from": previous, "to": role},
            )
    return locked


def _delete(membership: Membership, by: Membership | None = None, *, audit_action: Action | None = None) -> None:
    """Remove the membership and revoke the person's tokens there, so that joining
    again later does not bring old tokens back to life. `by` (someone else removing
    them) is checked again once the organization is locked. The audit row says
    member removed or left, or `audit_action` (their account was deleted)."""
    with transaction.atomic():
        lock_organization(membership.organization_id)
        by_now = _locked(by, "you are no longer a member of this organization") if by is not None else None
        locked = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if locked is None:
            return
        if by_now is not None:
            _check_manager(locked, by_now)
        if locked.role == Role.OWNER and not _other_owners_exist(locked):
            raise Conflict(LAST_OWNER)
        revoked = {TokenMode.LIVE: 0, TokenMode.TEST: 0}
        for token in (
            MCPToken.objects.select_for_update()
            .filter(organization_id=locked.organization_id, user_id=locked.user_id, revoked_at__isnull=True)
            .order_by("pk")
        ):
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])  # the signal closes its open streams
            revoked[TokenMode(token.mode)] += 1
        locked.delete()
        # The counters last (docs/decisions/0010): the seat, and the tokens' slots (a
        # test token's on the sandbox's counter).
        usage_release(organization=locked.organization_id, resource=Resource.MEMBERS)
        usage_release(organization=locked.organization_id, resource=Resource.TOKENS, amount=revoked[TokenMode.LIVE])
        if revoked[TokenMode.TEST]:
            sandbox = Organization.objects.filter(live_organization_id=locked.organization_id).first()
            if sandbox is not None:
                usage_release(organization=sandbox, resource=Resource.TOKENS, amount=revoked[TokenMode.TEST])
        record(
            organization=locked.organization_id,
            action=audit_action or (Action.MEMBER_REMOVED if by_now is not None else Action.MEMBER_LEFT),
            actor=by_now.user_id if by_now is not None else locked.user_id,
            target=locked.user.email,
            details={"role": locked.role, "tokens_revoked": revoked[TokenMode.LIVE] + revoked[TokenMode.TEST]},
        )


def member_remove(*, membership: Membership, by: Membership) -> None:
    """An owner or admin removes someone else (leaving is `member_leave`)."""
    if membership.pk == by.pk:
        raise InvalidArguments("to remove yourself, leave the organization")
    _check_manager(membership, by)
    _delete(membership, by)


def member_leave(*, membership: Membership) -> None:
    """A member leaves an organization (never its last owner)."""
    _delete(membership)


def membership_end_for_account_deletion(*, membership: Membership) -> None:
    """The person's account is being deleted (accounts.deletion): they leave, with
    the audit row saying why. Never the last owner (the caller checked, and this
    checks again under the lock)."""
    _delete(membership, audit_action=Action.ACCOUNT_DELETED)
