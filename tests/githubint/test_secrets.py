"""GitHub secrets: encrypted at rest, rotated by a command, never logged; settings
that are wrong stop the process at start."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from githubint.crypto import SecretUnreadable, decrypt, encrypt
from githubint.models import GitHubConnection
from githubint.services import connection_store_token
from orchestra.actor import Actor
from orchestra.logging import redact
from tests.test_settings import load

TOKEN = "github_pat_11ABCDEFG0" + "x" * 72


def test_a_secret_is_stored_encrypted_and_reads_back(settings) -> None:
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    stored = encrypt(TOKEN)
    assert TOKEN not in stored and decrypt(stored) == TOKEN


def test_another_key_cannot_read_it(settings) -> None:
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    stored = encrypt(TOKEN)
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretUnreadable):
        decrypt(stored)


def test_rotatekeys_reencrypts_with_the_newest_key(settings, alice, acme, globex) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    for org in (acme, globex):
        connection_store_token(actor=Actor(user_id=alice.pk), organization=org, token=TOKEN, account_login="octo")
    before = dict(GitHubConnection.unscoped.values_list("pk", "token_encrypted"))
    assert all(TOKEN not in value for value in before.values())

    settings.ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotatekeys", stdout=out)
    assert "Re-encrypting 2 secret(s)" in out.getvalue() and "2/2" in out.getvalue() and "Done: 2" in out.getvalue()
    after = dict(GitHubConnection.unscoped.values_list("pk", "token_encrypted"))
    assert all(after[pk] != before[pk] for pk in before)

    # Only the new key is needed from now on; the old one may go.
    settings.ENCRYPTION_KEYS = [new]
    assert {decrypt(value) for value in after.values()} == {TOKEN}


def test_rotatekeys_names_what_no_key_can_read(settings, alice, acme) -> None:
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    connection_store_token(actor=Actor(user_id=alice.pk), organization=acme, token=TOKEN, account_login="octo")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotatekeys", stdout=io.StringIO())


@pytest.mark.parametrize(
    "secret",
    [
        "ghs_" + "A1b2C3d4" * 12,  # installation token (the longer 2026 format)
        "ghu_16C7e42F292c6912E7710c838347Ae178B4a",
        "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        TOKEN,
    ],
)
def test_github_tokens_are_redacted_from_logs(secret) -> None:
    for line in (f"token {secret}", f"Authorization: token {secret}", f"got {secret}.", f'{{"token": "{secret}"}}'):
        assert secret not in redact(line), line
        assert secret[8:20] not in redact(line), line


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"GITHUB_APP_ID": "12"}, "GITHUB_APP_PRIVATE_KEY, GITHUB_APP_SLUG must be set too"),
        ({"GITHUB_APP_ID": "abc", "GITHUB_APP_PRIVATE_KEY": "-----BEGIN x"}, "numeric id"),
        (
            {
                "GITHUB_APP_ID": "12",
                "GITHUB_APP_SLUG": "s",
                "GITHUB_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----",
            },
            "not a usable PEM private key",
        ),
        ({"GITHUB_APP_PRIVATE_KEY": "/no/such/key.pem", "GITHUB_APP_ID": "1"}, "neither a PEM key nor a readable"),
        ({"ENCRYPTION_KEYS": "short"}, "key 1 is not a Fernet key"),
        ({"GITHUB_API_URL": "ftp://example"}, "GITHUB_API_URL must be an absolute http(s) URL"),
        ({"GITHUB_WEBHOOK_MAX_BYTES": "0"}, "must be positive"),
    ],
)
def test_bad_github_settings_stop_the_process(env, complaint) -> None:
    result = load(env)
    assert result.returncode != 0 and complaint in result.stderr, result.stderr[-2000:]


def test_the_app_key_may_be_a_path(tmp_path) -> None:
    from tests.github_fixtures import APP_PRIVATE_KEY

    key = tmp_path / "app.pem"
    key.write_text(APP_PRIVATE_KEY)
    result = load({"GITHUB_APP_ID": "12", "GITHUB_APP_SLUG": "orchestra", "GITHUB_APP_PRIVATE_KEY": str(key)})
    assert result.returncode == 0, result.stderr[-2000:]
