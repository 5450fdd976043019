"""Bearer-token authentication, shared by every MCP transport and the REST API.

A token is accepted only when it is well formed, known, not revoked, not expired,
its user is active and still a member of its organization, and that organization is
not suspended. Every refusal is the same 401 to the client; the reason is logged.
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
from accounts.models import MCPToken, Membership, Organization, Role, Scope, TokenMode
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
    return authenticate_digest(parsed.digest, memory_only=memory_only)


def authenticate_digest(token_digest: str, *, memory_only: bool = False) -> TokenIdentity:
    """authenticate_token for a token known by its digest: a long-lived stream keeps
    the digest of the token that opened it (never the token) and checks it again,
    through the same cache, for every message."""
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
        token = _tokens().filter(digest=token_digest).first()
        if token is None:
            raise AuthenticationFailed("unknown token")
        identity = _check(token)
        last_used = _touch_id(token.pk) if _needs_touch(token.last_used_at) else token.last_used_at
        if settings.AUTH_CACHE_SECONDS > 0:
            _cache.put(token_digest, _Cached(identity, last_used, token.expires_at), settings.AUTH_CACHE_SECONDS)
        return identity


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


def _check(token: MCPToken) -> TokenIdentity:
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
        expires_at=token.expires_at,
        plan_code=plan_of(getattr(live, "billing", None)).code.value,
    )


def _needs_touch(last_used_at: datetime | None) -> bool:
    """last_used_at is written at most once a minute, not on every request."""
    return last_used_at is None or timezone.now() - last_used_at >= LAST_USED_RESOLUTION


def _touch_id(token_id: uuid.UUID) -> datetime:
    now = timezone.now()
    MCPToken.objects.filter(pk=token_id).update(last_used_at=now)
    return now
