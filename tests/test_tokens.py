from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import tokens
from accounts.auth import AuthenticationFailed, authenticate_token
from accounts.models import MCPToken, Membership, Role
from accounts.services import membership_set, organization_suspend, token_create, token_revoke
from orchestra.errors import InvalidArguments


def test_generated_tokens_have_prefix_and_valid_checksum() -> None:
    live, test = tokens.generate("live"), tokens.generate("test")
    assert live.startswith("orch_live_") and test.startswith("orch_test_")
    assert tokens.parse(live).mode == "live"
    assert tokens.parse(test).mode == "test"
    assert len(live) == len("orch_live_") + 38


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],  # truncated
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # checksum off by one char
        lambda t: t[:15] + ("x" if t[15] != "x" else "y") + t[16:],  # random part changed
        lambda t: t.replace("orch_live_", "orch_prod_"),
        lambda t: t + "!",
        lambda t: "",
    ],
)
def test_malformed_tokens_are_refused_before_lookup(mangle, db, django_assert_num_queries) -> None:
    raw = mangle(tokens.generate("live"))
    assert tokens.parse(raw) is None
    with django_assert_num_queries(0), pytest.raises(AuthenticationFailed, match=r"malformed|missing"):
        authenticate_token(raw)


def test_only_digest_and_last_four_are_stored(alice, acme) -> None:
    issued = token_create(organization=acme, user=alice, name="laptop")
    row = MCPToken.objects.get(pk=issued.token.pk)
    assert row.digest == tokens.digest(issued.raw) and row.last_four == issued.raw[-4:]
    stored = " ".join(str(getattr(row, f.attname)) for f in MCPToken._meta.concrete_fields)
    assert issued.raw not in stored
    assert issued.raw[10:-4] not in stored


def test_authenticate_resolves_identity(alice, acme, alice_token) -> None:
    identity = authenticate_token(alice_token)
    assert identity.organization == acme and identity.live_organization == acme
    assert identity.user_id == alice.pk and identity.role == "owner" and identity.can_write


def test_test_token_acts_in_the_sandbox(alice, acme, issue_token) -> None:
    identity = authenticate_token(issue_token(alice, acme, mode="test"))
    assert identity.organization == acme.sandbox
    assert identity.organization.is_sandbox and identity.live_organization == acme


def test_unknown_token_is_refused(db) -> None:
    with pytest.raises(AuthenticationFailed, match="unknown"):
        authenticate_token(tokens.generate("live"))


def test_revoked_token_is_refused(alice, acme) -> None:
    issued = token_create(organization=acme, user=alice, name="x")
    token_revoke(token=issued.token)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate_token(issued.raw)


def test_expired_token_is_refused(alice, acme) -> None:
    issued = token_create(organization=acme, user=alice, name="x", expires_at=timezone.now() + timedelta(hours=1))
    MCPToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed, match="expired"):
        authenticate_token(issued.raw)


def test_token_of_removed_member_is_refused(bob, acme, issue_token) -> None:
    raw = issue_token(bob, acme)
    Membership.objects.filter(user=bob, organization=acme).delete()
    with pytest.raises(AuthenticationFailed, match="member"):
        authenticate_token(raw)


def test_token_of_deactivated_user_is_refused(bob, acme, issue_token) -> None:
    raw = issue_token(bob, acme)
    bob.is_active = False
    bob.save()
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        authenticate_token(raw)


def test_token_of_suspended_organization_is_refused(alice, acme, alice_token) -> None:
    organization_suspend(organization=acme)
    with pytest.raises(AuthenticationFailed, match="suspended"):
        authenticate_token(alice_token)


def test_read_scope_and_viewer_role_cannot_write(alice, bob, acme, issue_token) -> None:
    assert not authenticate_token(issue_token(alice, acme, scopes=["read"])).can_write
    membership_set(organization=acme, user=bob, role=Role.VIEWER)
    # A viewer asking for write still gets a read-only token.
    issued = token_create(organization=acme, user=bob, name="v", scopes=["read", "write"])
    assert issued.token.scopes == ["read"]
    assert not authenticate_token(issued.raw).can_write


def test_last_used_at_is_written_at_most_once_a_minute(alice_token, django_assert_num_queries, settings) -> None:
    settings.AUTH_CACHE_SECONDS = 0  # every check goes to the database
    authenticate_token(alice_token)
    token = MCPToken.objects.get()
    first = token.last_used_at
    assert first is not None
    with django_assert_num_queries(2):  # token + membership, no UPDATE
        authenticate_token(alice_token)
    assert MCPToken.objects.get().last_used_at == first
    MCPToken.objects.update(last_used_at=first - timedelta(minutes=2))
    authenticate_token(alice_token)
    assert MCPToken.objects.get().last_used_at > first - timedelta(minutes=2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"mode": "prod"}, "mode"),
        ({"name": "  "}, "name"),
        ({"expires_at": "past"}, "future"),
    ],
)
def test_bad_token_requests_write_nothing(alice, acme, kwargs, message) -> None:
    if kwargs.get("expires_at") == "past":
        kwargs["expires_at"] = timezone.now() - timedelta(days=1)
    kwargs.setdefault("name", "x")
    with pytest.raises(InvalidArguments, match=message):
        token_create(organization=acme, user=alice, **kwargs)
    assert not MCPToken.objects.exists()


def test_non_member_cannot_get_a_token(charlie, acme) -> None:
    with pytest.raises(InvalidArguments, match="not a member"):
        token_create(organization=acme, user=charlie, name="x")


def test_checks_are_reused_briefly_and_forgotten_on_revocation(alice_token, django_assert_num_queries) -> None:
    first = authenticate_token(alice_token)
    with django_assert_num_queries(0):
        assert authenticate_token(alice_token) == first
    token_revoke(token=MCPToken.objects.get())  # clears this process's cache at once
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate_token(alice_token)


def test_suspension_and_removal_are_not_hidden_by_the_cache(alice, bob, acme, alice_token, issue_token) -> None:
    bob_token = issue_token(bob, acme)
    authenticate_token(alice_token), authenticate_token(bob_token)
    Membership.objects.get(user=bob).delete()
    with pytest.raises(AuthenticationFailed, match="member"):
        authenticate_token(bob_token)
    organization_suspend(organization=acme)
    with pytest.raises(AuthenticationFailed, match="suspended"):
        authenticate_token(alice_token)


def test_the_cache_never_outlives_a_second(settings) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "orchestra.settings", "AUTH_CACHE_SECONDS": "5"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "AUTH_CACHE_SECONDS" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_an_expired_check_is_redone_once_however_many_requests_find_it(alice_token, monkeypatch) -> None:
    """Under load a busy token's entry expires with many requests in flight: one of
    them looks it up; the others wait for that lookup instead of making their own."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from accounts import auth

    lookups = []
    real_tokens = auth._tokens

    def counted_tokens():
        lookups.append(1)
        time.sleep(0.2)  # a slow database: the other threads arrive meanwhile
        return real_tokens()

    monkeypatch.setattr(auth, "_tokens", counted_tokens)

    def check(_: int) -> str:
        try:
            return str(authenticate_token(alice_token).token_id)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        identities = set(pool.map(check, range(8)))
    assert len(identities) == 1 and len(lookups) == 1
