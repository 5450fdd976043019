"""The operator commands: createorganization, createtoken, revoketoken, seed, migrate --seed."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from accounts.auth import AuthenticationFailed, authenticate_token
from accounts.models import MCPToken, Membership, Organization, User
from tools.projects.models import Project

TOKEN_RE = re.compile(r"orch_(?:live|test)_[0-9A-Za-z]{38}")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createorganization_creates_owner_and_sandbox(db) -> None:
    output = run("createorganization", "Initech", "--owner", "Peter@Initech.com")
    org = Organization.objects.get(slug="initech")
    assert "Created organization Initech" in output
    assert org.sandbox.is_sandbox and org.sandbox.slug == "initech-sandbox"
    membership = Membership.objects.get(organization=org)
    assert membership.user.email == "peter@initech.com" and membership.role == "owner"
    with pytest.raises(CommandError, match="taken"):
        run("createorganization", "Other", "--owner", "x@y.z", "--slug", "initech")


def test_createtoken_prints_the_token_once_and_it_works(db) -> None:
    run("createorganization", "Initech", "--owner", "peter@initech.com")
    output = run("createtoken", "--org", "initech", "--user", "peter@initech.com", "--name", "ci")
    (raw,) = set(TOKEN_RE.findall(output))
    assert '"type": "http"' in output and '"type": "sse"' in output and "/mcp" in output
    identity = authenticate_token(raw)
    assert identity.organization.slug == "initech"
    assert raw not in str(list(MCPToken.objects.values()))


def test_createtoken_read_only_and_test_mode(db) -> None:
    run("createorganization", "Initech", "--owner", "peter@initech.com")
    output = run("createtoken", "--org", "initech", "--user", "peter@initech.com", "--mode", "test", "--read-only")
    (raw,) = set(TOKEN_RE.findall(output))
    identity = authenticate_token(raw)
    assert raw.startswith("orch_test_") and identity.organization.is_sandbox and not identity.can_write


def test_createtoken_refuses_bad_input(db) -> None:
    run("createorganization", "Initech", "--owner", "peter@initech.com")
    with pytest.raises(CommandError, match="No organization"):
        run("createtoken", "--org", "nope", "--user", "peter@initech.com")
    with pytest.raises(CommandError, match="No user"):
        run("createtoken", "--org", "initech", "--user", "nobody@x.y")
    User.objects.create_user("outsider@x.y")
    with pytest.raises(CommandError, match="not a member"):
        run("createtoken", "--org", "initech", "--user", "outsider@x.y")
    assert not MCPToken.objects.exists()


def test_createtoken_restricts_to_a_project_named_by_slug_or_id(db) -> None:
    run("createorganization", "Initech", "--owner", "peter@initech.com")
    run("createorganization", "Globex", "--owner", "hank@globex.com")
    initech, globex = Organization.objects.get(slug="initech"), Organization.objects.get(slug="globex")
    tps = Project.unscoped.create(organization=initech, name="TPS reports", slug="tps-reports")
    Project.unscoped.create(organization=globex, name="Doomsday", slug="doomsday")
    by_slug = run("createtoken", "--org", "initech", "--user", "peter@initech.com", "--project", "tps-reports")
    assert "restricted to project tps-reports" in by_slug
    by_id = run("createtoken", "--org", "initech", "--user", "peter@initech.com", "--project", str(tps.pk))
    for output in (by_slug, by_id):
        (raw,) = set(TOKEN_RE.findall(output))
        assert authenticate_token(raw).project_id == tps.pk
    assert set(MCPToken.objects.values_list("project_id", flat=True)) == {tps.pk}


def test_createtoken_refuses_an_unknown_or_foreign_project_clearly(db) -> None:
    run("createorganization", "Initech", "--owner", "peter@initech.com")
    run("createorganization", "Globex", "--owner", "hank@globex.com")
    live = Project.unscoped.create(organization=Organization.objects.get(slug="initech"), name="Live", slug="live")
    foreign = Project.unscoped.create(organization=Organization.objects.get(slug="globex"), name="D", slug="doomsday")
    for ref in ("nowhere", "doomsday", str(foreign.pk), "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(CommandError, match=f"No project '{ref}' in organization 'initech'"):
            run("createtoken", "--org", "initech", "--user", "peter@initech.com", "--project", ref)
    # A test token acts in the sandbox: the live organization's project is not there.
    with pytest.raises(CommandError, match="No project 'live' in the sandbox of 'initech'"):
        run("createtoken", "--org", "initech", "--user", "peter@initech.com", "--mode", "test", "--project", "live")
    assert live.pk and not MCPToken.objects.exists()


def test_revoketoken_by_raw_token_and_by_id(db) -> None:
    run("createorganization", "Initech", "--owner", "peter@initech.com")
    first = TOKEN_RE.findall(run("createtoken", "--org", "initech", "--user", "peter@initech.com"))[0]
    second = TOKEN_RE.findall(run("createtoken", "--org", "initech", "--user", "peter@initech.com"))[0]
    assert "revoked" in run("revoketoken", first)
    token_id = str(MCPToken.objects.get(last_four=second[-4:]).pk)
    run("revoketoken", token_id)
    assert "already revoked" in run("revoketoken", token_id)
    for raw in (first, second):
        with pytest.raises(AuthenticationFailed):
            authenticate_token(raw)
    with pytest.raises(CommandError, match="No such token"):
        run("revoketoken", "orch_live_definitelynotatoken")


def test_seed_is_idempotent_and_shows_the_token_only_the_first_time(db) -> None:
    first = run("seed")
    (raw,) = set(TOKEN_RE.findall(first))
    assert authenticate_token(raw).organization.slug == "demo"
    second = run("seed")
    assert not TOKEN_RE.findall(second) and "never shown twice" in second
    assert Organization.objects.filter(slug="demo").count() == 1
    assert MCPToken.objects.count() == 1


def test_migrate_seed_migrates_then_seeds(db) -> None:
    output = run("migrate", "--seed", "--verbosity", "0")
    assert "Organization Demo (demo)" in output
    assert Organization.objects.filter(slug="demo").exists()


def test_migrate_runs_without_the_request_statement_timeout(db, monkeypatch) -> None:
    """An index build on a big table outlasts DB_STATEMENT_TIMEOUT_MS: migrate lifts
    it for its own work and puts it back after."""
    from django.core.management.commands.migrate import Command as DjangoMigrate
    from django.db import connection

    seen = []

    def fake_handle(self, *args, **options) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.append(cursor.fetchone()[0])

    monkeypatch.setattr(DjangoMigrate, "handle", fake_handle)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        after = cursor.fetchone()[0]
    assert seen == ["0"] and after == "30s"
