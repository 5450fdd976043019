"""Bearer-token authentication, shared by every MCP transport and the REST API.

A token is accepted only when it is well formed, known, not revoked, not expired,
its user is active and still a member of its organization, and that organization is
not suspended. Every refusal is the same 401 to the client; the reason is logged.

Two kinds of bearer are accepted: an orch_ token, and an OAuth access token (orch_oat_,
issued by the oauth app for one grant). An access token acts as its grant's MCPToken:
both resolve, through `_check`, to the same TokenIdentity, so every rule (tenancy,
sandbox, read-only, project, rate limit, revocation, membership) applies to both alike.
An access token also stops at its own, short, expiry.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts import tokens
from accounts.models import MCPToken, Membership, Organization, Role, Scope, TokenKind, TokenMode
from billing.plans import Plan, PlanCode, plan_get
from billing.selectors import plan_of
from orchestra.actor import Actor
from orchestra.ttl_cache import TtlCache

logger = logging.getLogger(__name__)

LAST_USED_RESOLUTION = timedelta(minutes=1)


class AuthenticationFailed(Exception):
    """The bearer credential is not acceptable (401)."""


class NeedsDatabase(Exception):
    """A memory-only call could not be answered from this process's caches."""


@dataclass(frozen=True)
class TokenIdentity:
    """Who a request acts as, resolved from its token."""

    token_id: uuid.UUID
    user_id: uuid.UUID
    user_email: str
    organization: Organization  # where the token acts: the live org, or its sandbox for test tokens
    live_organization: Organization
    mode: str
    scopes: tuple[str, ...]
    role: str
    project_id: uuid.UUID | None
    # When the token stops working by itself (None: never). Long-lived streams end then.
    expires_at: datetime | None = None
    # The live organization's plan when the token was checked (cached with the rest of
    # the identity, so a plan change takes effect within AUTH_CACHE_SECONDS): it sets
    # the per-minute rate limit and what get_context shows.
    plan_code: str = PlanCode.SELF_HOSTED.value

    @property
    def plan(self) -> Plan:
        return plan_get(self.plan_code)

    @property
    def can_write(self) -> bool:
        return Scope.WRITE in self.scopes and self.role != Role.VIEWER

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, token_id=self.token_id)


def bearer_from_header(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, credential = value.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


def _tokens() -> QuerySet[MCPToken]:
    return MCPToken.objects.select_related("user", "organization", "organization__sandbox", "organization__billing")


@dataclass
class _Cached:
    identity: TokenIdentity
    last_used_at: datetime | None
    token_expires_at: datetime | None


# Identities resolved in this process, by token digest, for AUTH_CACHE_SECONDS (one
# second by default). Every change that removes access also empties the matching
# entries at once, here and in every other process (accounts.signals and the control
# bus), so the cache saves the lookups of busy agents without delaying a revocation.
_cache: TtlCache[str, _Cached] = TtlCache()


def forget(*, token: Any = None, user: Any = None, organization: Any = None) -> None:
    """Drop cached identities matching every given field (None matches anything)."""

    def matches(_: str, entry: _Cached) -> bool:
        identity = entry.identity
        return (
            (token is None or str(identity.token_id) == str(token))
            and (user is None or str(identity.user_id) == str(user))
            and (organization is None or str(identity.live_organization.pk) == str(organization))
        )

    _cache.discard_where(matches)


def authenticate_token(raw: str | None, *, memory_only: bool = False) -> TokenIdentity:
    """Resolve a raw bearer token to its identity, or raise AuthenticationFailed.

    With `memory_only`, answer from the cache or raise NeedsDatabase (for callers on
    the event loop, which must not touch the database)."""
    if not raw:
        raise AuthenticationFailed("missing bearer token")
    parsed = tokens.parse(raw)
    if parsed is None:
        raise AuthenticationFailed("malformed token")
    if parsed.mode == "oauth_refresh":
        raise AuthenticationFailed("a refresh token is not a bearer token")
    return authenticate_digest(parsed.digest, memory_only=memory_only, oauth=parsed.is_oauth)


def authenticate_digest(token_digest: str, *, memory_only: bool = False, oauth: bool | None = None) -> TokenIdentity:
    """authenticate_token for a token known by its digest: a long-lived stream keeps
    the digest of the token that opened it (never the token) and checks it again,
    through the same cache, for every message. `oauth` says which kind of token it is
    when known (its prefix told), so only that table is asked."""
    identity = _from_cache(token_digest, memory_only=memory_only)
    if identity is not None:
        return identity
    if memory_only:
        raise NeedsDatabase("token not cached")
    # When a busy token's entry expires, every request in flight finds it expired at
    # once: they wait for the first one's lookup instead of each making their own.
    with _LOOKUP_LOCKS[hash(token_digest) % len(_LOOKUP_LOCKS)]:
        identity = _from_cache(token_digest, memory_only=False)
        if identity is not None:
            return identity
        token, access_expires = _lookup(token_digest, oauth=oauth)
        identity = _check(token, access_expires=access_expires)
        last_used = _touch_id(token.pk) if _needs_touch(token.last_used_at) else token.last_used_at
        if settings.AUTH_CACHE_SECONDS > 0:
            _cache.put(token_digest, _Cached(identity, last_used, identity.expires_at), settings.AUTH_CACHE_SECONDS)
        return identity


def _lookup(token_digest: str, *, oauth: bool | None) -> tuple[MCPToken, datetime | None]:
    """The credential row a digest acts as, and the OAuth access token's own expiry
    (None for an orch_ token). Digests of both kinds live in one space (SHA-256 of
    the raw value): without `oauth`, the orch_ table is asked first, the OAuth one after."""
    if not oauth:
        token = _tokens().filter(digest=token_digest, kind=TokenKind.TOKEN).first()
        if token is not None:
            return token, None
        if oauth is False:
            raise AuthenticationFailed("unknown token")
    from oauth.models import AccessToken, resource_is_ours  # same layer; imported late (app loading)

    access = (
        AccessToken.objects.select_related(
            "mcp_token__user",
            "mcp_token__organization",
            "mcp_token__organization__sandbox",
            "mcp_token__organization__billing",
        )
        .filter(token_checksum=token_digest, mcp_token__isnull=False)  # not a registration token
        .first()
    )
    if access is None or access.mcp_token is None:
        raise AuthenticationFailed("unknown token")
    if access.is_expired():
        raise AuthenticationFailed("expired token")
    if not resource_is_ours(access.resource):  # issued for another resource, or for none
        raise AuthenticationFailed("access token not issued for this server")
    return access.mcp_token, access.expires


# Striped, so that the locks never grow with the number of tokens presented.
_LOOKUP_LOCKS = tuple(threading.Lock() for _ in range(64))


def _from_cache(digest_: str, *, memory_only: bool) -> TokenIdentity | None:
    """The cached identity of a token, if its entry is fresh; None otherwise."""
    cached = _cache.get(digest_)
    if cached is None:
        return None
    if cached.token_expires_at is not None and cached.token_expires_at <= timezone.now():
        _cache.pop(digest_)
        raise AuthenticationFailed("expired token")
    if _needs_touch(cached.last_used_at):
        if memory_only:
            raise NeedsDatabase("last_used_at is due")
        cached.last_used_at = _touch_id(cached.identity.token_id)
    return cached.identity


def reauthenticate(token_id: uuid.UUID) -> TokenIdentity:
    """The identity of a token already presented once (a long-lived stream), checked
    again against every rule: revocation, expiry, membership, suspension."""
    token = _tokens().filter(pk=token_id).first()
    if token is None:
        raise AuthenticationFailed("unknown token")
    return _check(token)


def _check(token: MCPToken, *, access_expires: datetime | None = None) -> TokenIdentity:
    if token.revoked_at is not None:
        raise AuthenticationFailed("revoked token")
    if token.is_expired:
        raise AuthenticationFailed("expired token")
    if not token.user.is_active:
        raise AuthenticationFailed("deactivated user")
    if token.organization.is_suspended:
        raise AuthenticationFailed("suspended organization")
    role = (
        Membership.objects.filter(user_id=token.user_id, organization_id=token.organization_id)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        raise AuthenticationFailed("user is no longer a member")
    live = token.organization
    return TokenIdentity(
        token_id=token.id,
        user_id=token.user_id,
        user_email=token.user.email,
        organization=live.sandbox if token.mode == TokenMode.TEST else live,
        live_organization=live,
        mode=token.mode,
        scopes=tuple(token.scopes),
        role=role,
        project_id=token.project_id,
        # An OAuth access token ends before its grant: at its own expiry.
        expires_at=_earliest(token.expires_at, access_expires),
        plan_code=plan_of(getattr(live, "billing", None)).code.value,
    )


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def _needs_touch(last_used_at: datetime | None) -> bool:
    """last_used_at is written at most once a minute, not on every request."""
    return last_used_at is None or timezone.now() - last_used_at >= LAST_USED_RESOLUTION


def _touch_id(token_id: uuid.UUID) -> datetime:
    now = timezone.now()
    MCPToken.objects.filter(pk=token_id).update(last_used_at=now)
    return now
