"""Invitations: an owner or admin invites an address to join with a role.

The secret travels only in the link sent by mail; the row keeps its SHA-256 digest,
like MCP tokens. Accepting needs the link (or, for a signed-in person, the session
that followed it) and an account whose address is the invited one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.members import lock_organization
from accounts.models import Invitation, Membership, Organization, Role, User
from audit.actions import Action
from audit.services import record
from billing.plans import Resource
from billing.services import usage_check_within, usage_consume, usage_release
from orchestra.errors import Conflict, InvalidArguments, PermissionDenied, ToolError

logger = logging.getLogger(__name__)

LIFETIME = timedelta(days=7)
MANAGERS = (Role.OWNER, Role.ADMIN)


class MailNotSent(ToolError):
    """The mail server refused or could not be reached; nothing was kept."""

    code = "mail_not_sent"
    http_status = 502


class InvitationUnusable(Conflict):
    """The invitation was accepted, revoked or has expired (or never existed)."""

    code = "invitation_unusable"

    def __init__(self, status: str) -> None:
        super().__init__(f"this invitation is {status}", details={"status": status})
        self.status = status


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    url: str  # carries the secret: sent by mail, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidArguments(f"not a valid email address: {email}") from exc
    return email


def invitation_url(secret: str, base_url: str | None = None) -> str:
    return f"{(base_url or settings.APP_URL).rstrip('/')}{reverse('web:invitation', args=[secret])}"


def _manager(organization: Organization, user: User) -> Membership:
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None or membership.role not in MANAGERS:
        raise PermissionDenied("only owners and admins can invite or revoke invitations")
    return membership


def invitation_create(
    *, organization: Organization, email: str, role: str, invited_by: User, base_url: str | None = None
) -> IssuedInvitation:
    """Invite `email` with `role` and mail the link. Inviting an address again revokes
    its previous open invitation. If the mail cannot be sent, nothing is kept."""
    if organization.is_sandbox:
        raise InvalidArguments("invitations belong to the live organization")
    email = normalize_email(email)
    if role not in Role.values:
        raise InvalidArguments(f"role must be one of {', '.join(Role.values)}")
    inviter = _manager(organization, invited_by)
    if role == Role.OWNER and inviter.role != Role.OWNER:
        raise PermissionDenied("only owners can invite owners")
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise InvalidArguments(f"{email} is already a member of {organization.name}")
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        # The organization's row first (docs/decisions/0010), so two invitations of one
        # address cannot race past the one-open-invitation rule. (FOR NO KEY UPDATE:
        # while the mail is sent, the organization's other writes are not blocked.)
        lock_organization(organization.pk)
        # Seats held by invitations that lapsed are given back first, and so is the
        # seat of the invitation this one replaces.
        invitations_lapse(organization_id=organization.pk)
        replaced = (
            Invitation.objects.filter(
                organization=organization, email=email, accepted_at__isnull=True, revoked_at__isnull=True
            )
            .order_by()
            .update(revoked_at=now)
        )
        usage_release(organization=organization, resource=Resource.MEMBERS, amount=replaced)
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            invited_by=invited_by,
            digest=digest(secret),
            expires_at=now + LIFETIME,
        )
        # A pending invitation holds a member's seat (the counter is the last lock).
        usage_consume(organization=organization, resource=Resource.MEMBERS)
        record(
            organization=organization,
            action=Action.INVITATION_SENT,
            actor=invited_by,
            target=email,
            details={"role": role, "replaced": replaced},
        )
        url = invitation_url(secret, base_url)
        # Sent inside the transaction: a mail that cannot be sent leaves no invitation.
        try:
            _send(invitation, url)
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("invitation mail to %s not sent: %s", email, type(exc).__name__)
            raise MailNotSent(
                f"the invitation mail to {email} could not be sent, so no invitation was made; try again later"
            ) from exc
    return IssuedInvitation(invitation=invitation, url=url)


def _send(invitation: Invitation, url: str) -> None:
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter": (inviter.name or inviter.email) if inviter else "Someone",
        "url": url,
        "days": LIFETIME.days,
    }
    subject = render_to_string("web/people/email/invitation_subject.txt", context).strip()
    body = render_to_string("web/people/email/invitation_message.txt", context)
    send_mail(
        f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}", body, settings.DEFAULT_FROM_EMAIL, [invitation.email]
    )


def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    """Revoke an open invitation (idempotent); its link stops working."""
    _manager(invitation.organization, by)
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise InvalidArguments("this invitation was already accepted")
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            usage_release(organization=locked.organization_id, resource=Resource.MEMBERS)
            record(
                organization=locked.organization_id,
                action=Action.INVITATION_WITHDRAWN,
                actor=by,
                target=locked.email,
                details={"role": locked.role},
            )
    return locked


def invitations_lapse(*, organization_id: Any = None) -> int:
    """Give back the seats of invitations that expired while still open (of one
    organization, or of all): each is closed with `revoked_at = expires_at`, which its
    status reads as "expired", so its seat is given back exactly once. Runs where
    seats are taken (a new invitation, under the organization's lock), periodically,
    and before a recount. Returns how many lapsed."""
    lapsed = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=timezone.now()
    )
    if organization_id is not None:
        lapsed = lapsed.filter(organization_id=organization_id)
    total = 0
    with transaction.atomic():
        per_org: dict[Any, int] = {}
        for pk, org_id in (
            lapsed.select_for_update(skip_locked=True).order_by("pk").values_list("pk", "organization_id")
        ):
            per_org[org_id] = per_org.get(org_id, 0) + 1
            Invitation.objects.filter(pk=pk).update(revoked_at=F("expires_at"))
        for org_id, count in sorted(per_org.items(), key=lambda item: str(item[0])):  # one lock order
            usage_release(organization=org_id, resource=Resource.MEMBERS, amount=count)
            total += count
    return total


def invitation_by_secret(secret: str) -> Invitation | None:
    """The invitation a link names, whatever its state, or None."""
    if not secret or len(secret) > 100:
        return None
    return Invitation.objects.select_related("organization", "invited_by").filter(digest=digest(secret)).first()


def addresses_of(user: User) -> set[str]:
    """The addresses the user has proven: their login address and verified ones."""
    from allauth.account.models import EmailAddress

    verified = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    return {user.email.lower(), *(e.lower() for e in verified)}


def is_for(invitation: Invitation, user: User) -> bool:
    return invitation.email.lower() in addresses_of(user)


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the organization with the invited role. Refused (changing nothing) when
    the invitation is not pending or is addressed to someone else."""
    with transaction.atomic():
        # The organization first, then the invitation (docs/decisions/0010): accepting
        # adds a member, like every other change of an organization's members.
        lock_organization(invitation.organization_id)
        locked = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
        if locked.status != "pending":
            raise InvitationUnusable(locked.status)
        if locked.organization.is_suspended:
            raise InvitationUnusable("for a suspended organization")
        if not is_for(locked, user):
            raise PermissionDenied(f"this invitation is for {locked.email}, and you are signed in as {user.email}")
        membership, created = Membership.objects.get_or_create(
            organization=locked.organization, user=user, defaults={"role": locked.role}
        )
        # Someone who already belongs keeps their role: an invitation never demotes.
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        if created:
            # The invitation's seat becomes the member's; but after a downgrade the
            # organization may hold more seats than its plan now allows: refused.
            usage_check_within(organization=locked.organization, resource=Resource.MEMBERS)
        else:
            usage_release(organization=locked.organization, resource=Resource.MEMBERS)
        record(
            organization=locked.organization,
            action=Action.INVITATION_ACCEPTED,
            actor=user,
            target=locked.email,
            details={"role": membership.role, "joined": created},
        )
    return membership


def pending_invitations(organization: Organization) -> QuerySet[Invitation]:
    """Open, unexpired invitations of the organization, newest first."""
    return (
        Invitation.objects.filter(
            organization=organization,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitations_for(user: User) -> QuerySet[Invitation]:
    """Open invitations addressed to one of the user's proven addresses, in
    organizations they do not belong to yet."""
    return (
        Invitation.objects.filter(
            email__in=addresses_of(user),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            organization__suspended_at__isnull=True,
        )
        .exclude(organization__memberships__user=user)
        .select_related("organization", "invited_by")
        .order_by("-created_at")
    )
