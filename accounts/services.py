"""Writes for people, organizations, memberships and tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import tokens
from accounts.members import lock_organization
from accounts.models import MCPToken, Membership, Organization, Role, Scope, TokenKind, TokenMode, User
from audit.actions import Action
from audit.models import DeletedOrganization
from audit.services import record
from billing.plans import Resource
from billing.selectors import plan_of
from billing.services import billing_open, usage_consume, usage_release
from orchestra.errors import InvalidArguments, NotFound
from orchestra.ids import unique_slug

SANDBOX_SUFFIX = "-sandbox"


def _slug_taken(slug: str) -> bool:
    return Organization.objects.filter(slug__in=[slug, f"{slug}{SANDBOX_SUFFIX}"]).exists()


@transaction.atomic
def organization_create(*, name: str, owner: User, slug: str | None = None) -> Organization:
    """A live organization, its sandbox, and `owner` as its owner."""
    name = name.strip()
    if not name:
        raise InvalidArguments("organization name must not be empty")
    if slug:
        if _slug_taken(slug):
            raise InvalidArguments(f"organization slug already taken: {slug}")
    else:
        slug = unique_slug(name, _slug_taken, max_length=60)
    org = Organization.objects.create(name=name, slug=slug)
    Organization.objects.create(name=name, slug=f"{slug}{SANDBOX_SUFFIX}", is_sandbox=True, live_organization=org)
    Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    billing = billing_open(organization=org)
    usage_consume(organization=org, resource=Resource.MEMBERS, plan=plan_of(billing))
    return org


def membership_set(*, organization: Organization, user: User, role: str) -> Membership:
    """Make `user` a member with `role` (operators and seeds; people go through
    accounts.members, which checks who may). Locks as decision 0010 says; a new member
    takes a seat of the plan (the counter last)."""
    if role not in Role.values:
        raise InvalidArguments(f"role must be one of {', '.join(Role.values)}")
    with transaction.atomic():
        lock_organization(organization.pk)
        membership, created = Membership.objects.update_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        if created:
            usage_consume(organization=organization, resource=Resource.MEMBERS)
    return membership


@dataclass(frozen=True)
class IssuedToken:
    token: MCPToken
    raw: str  # shown once, never stored


def token_create(
    *,
    organization: Organization,
    user: User,
    name: str,
    mode: str = TokenMode.LIVE,
    scopes: list[str] | None = None,
    project_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
    kind: str = TokenKind.TOKEN,
    oauth_client_id: str = "",
) -> IssuedToken:
    """Issue a token. The raw value is returned once; only its digest is stored.

    An OAuth grant (kind oauth, given on the consent page) is a token too: it counts
    like one and carries its client's id. Its own raw value is never handed out, and
    never accepted (accounts.auth looks up orch_ tokens of kind token only); the
    client acts through the access tokens the oauth app issues for it."""
    if kind not in TokenKind.values:
        raise InvalidArguments("kind must be 'token' or 'oauth'")
    if (kind == TokenKind.OAUTH) != bool(oauth_client_id):
        raise InvalidArguments("an OAuth grant, and only one, names its client")
    if organization.is_sandbox:
        raise InvalidArguments("tokens belong to the live organization; use mode='test' for its sandbox")
    if mode not in TokenMode.values:
        raise InvalidArguments("mode must be 'live' or 'test'")
    scopes = sorted(set(scopes if scopes is not None else [Scope.READ, Scope.WRITE]))
    if not scopes or any(s not in Scope.values for s in scopes):
        raise InvalidArguments("scopes must be a non-empty subset of read, write")
    if Scope.WRITE in scopes and Scope.READ not in scopes:
        scopes = sorted([*scopes, Scope.READ])
    membership = Membership.objects.filter(user=user, organization=organization).first()
    if membership is None:
        raise InvalidArguments(f"{user} is not a member of {organization}")
    if membership.role == Role.VIEWER:
        scopes = [Scope.READ]  # viewers only ever get read-only tokens
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidArguments("expires_at must be in the future")
    if not name.strip():
        raise InvalidArguments("token name must not be empty")
    if project_id is not None:
        # The model the token's own foreign key names: identity does not import the
        # projects domain.
        projects = MCPToken._meta.get_field("project").related_model._base_manager
        home = organization.sandbox if mode == TokenMode.TEST else organization
        if not projects.filter(pk=project_id, organization=home).exists():
            raise NotFound(f"project not found: {project_id}")
    raw = tokens.generate(mode)
    with transaction.atomic():
        token = MCPToken.objects.create(
            organization=organization,
            user=user,
            name=name.strip(),
            mode=mode,
            prefix=tokens.PREFIXES[mode],
            digest=tokens.digest(raw),
            last_four=raw[-4:],
            scopes=scopes,
            project_id=project_id,
            expires_at=expires_at,
            kind=kind,
            oauth_client_id=oauth_client_id,
        )
        # A test token is counted on its sandbox's counter (never the live one's).
        counted_on = organization.sandbox if mode == TokenMode.TEST else organization
        usage_consume(organization=counted_on, resource=Resource.TOKENS)
        record(
            organization=organization,
            action=Action.GRANT_CREATED if kind == TokenKind.OAUTH else Action.TOKEN_CREATED,
            actor=user,
            target=_token_label(token),
            details={"mode": mode, "scopes": scopes, "project": project_id, "client": oauth_client_id or None},
        )
    return IssuedToken(token=token, raw=raw)


def _token_label(token: MCPToken) -> str:
    return f"{token.name} ({token.prefix}…{token.last_four})" if token.kind == TokenKind.TOKEN else token.name


def token_counter_organization_id(token: MCPToken) -> uuid.UUID:
    """The organization whose token counter a token is counted on: its sandbox for a
    test token (a sandbox never counts against its live organization)."""
    if token.mode != TokenMode.TEST:
        return token.organization_id
    return Organization.objects.filter(live_organization_id=token.organization_id).values_list("pk", flat=True).get()


def token_revoke(*, token: MCPToken, by: Any = None, by_label: str = "") -> MCPToken:
    """Revoke a token (idempotent): every later request with it gets 401. The row is
    locked, so two revocations at once give its slot back once. `by` (a User, or None
    with `by_label` saying who) is who the audit row names."""
    with transaction.atomic():
        locked = MCPToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            usage_release(organization=token_counter_organization_id(locked), resource=Resource.TOKENS)
            record(
                organization=locked.organization_id,
                action=Action.GRANT_REVOKED if locked.kind == TokenKind.OAUTH else Action.TOKEN_REVOKED,
                actor=by,
                actor_label=by_label,
                target=_token_label(locked),
                details={"mode": locked.mode, "owner": str(locked.user_id)},
            )
    token.revoked_at = locked.revoked_at
    return token


def organization_suspend(*, organization: Organization, suspended: bool = True) -> Organization:
    if (
        not suspended
        and DeletedOrganization.objects.filter(pk=organization.live_organization_id or organization.pk).exists()
    ):
        raise InvalidArguments(f"{organization} was deleted: it cannot be restored")
    organization.suspended_at = timezone.now() if suspended else None
    organization.save(update_fields=["suspended_at"])
    return organization
