"""Accounts (allauth) in Orchestra: where people land, the pages' layout, password
reset and email change through the mail, login throttling, CSRF on every form, and
secure cookies and HSTS behind https."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html import unescape

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import User
from tests.conftest import ROOT
from tests.dashboard.people_world import signed_in, text, verified

pytest_plugins = ["tests.people_fixtures"]
pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-7"


def link(mail, fragment: str) -> str:
    """The path of the first link in `mail` that contains `fragment`."""
    url = unescape(re.search(rf"http://testserver(\S*{re.escape(fragment)}\S*)", mail.body).group(1))
    return url


def log_in(client: Client, email: str, password: str = PASSWORD, **extra: str):
    return client.post("/accounts/login/", {"login": email, "password": password, **extra})


@pytest.fixture
def nina(db) -> User:
    return verified(User.objects.create_user("nina@example.com", PASSWORD))


def test_every_allauth_page_wears_orchestras_layout() -> None:
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/confirm-email/"):
        page = text(Client().get(url))
        assert "orchestra.css" in page and "people.css" in page and 'class="topbar"' in page, url
        assert "auth-entrance-marker" in page, url
        assert 'class="auth-form"' in page or url.endswith("confirm-email/"), url


def test_account_pages_have_the_account_menu(nina) -> None:
    client = signed_in(nina)
    for url in ("/accounts/email/", "/accounts/password/change/"):
        page = text(client.get(url))
        assert "auth-manage-marker" in page and 'aria-label="Account"' in page and 'aria-current="page"' in page


def test_the_github_button_shows_only_when_github_is_configured(settings) -> None:
    assert "Continue with GitHub" not in text(Client().get("/accounts/login/"))
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {"APPS": [{"client_id": "id", "secret": "secret", "key": ""}], "SCOPE": ["user:email"]}
    }
    page = text(Client().get("/accounts/login/"))
    assert "Continue with GitHub" in page and 'action="/accounts/github/login/?process=login"' in page
    assert "Continue with GitHub" in text(Client().get("/accounts/signup/"))


def test_a_person_without_organization_lands_on_onboarding(nina) -> None:
    response = log_in(Client(), "nina@example.com")
    assert response.status_code == 302 and response["Location"] == "/onboarding/"


def test_a_member_lands_on_the_dashboard_or_next(team, alice) -> None:
    verified(alice)
    assert log_in(Client(), "alice@example.com", "pw-alice-123456")["Location"] == "/"
    response = log_in(Client(), "alice@example.com", "pw-alice-123456", next="/tokens/")
    assert response["Location"] == "/tokens/"


def test_an_unverified_account_cannot_log_in(db, mailoutbox) -> None:
    user = User.objects.create_user("ursula@example.com", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    response = log_in(Client(), "ursula@example.com")
    assert response["Location"] == "/accounts/confirm-email/"
    assert mailoutbox and "confirm-email" in mailoutbox[-1].body


def test_logging_out_takes_a_post(nina) -> None:
    client = signed_in(nina)
    assert client.get("/accounts/logout/").status_code == 200
    assert client.get("/onboarding/organization").status_code == 200  # still signed in
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert client.get("/onboarding/organization").status_code == 302


def test_password_reset_through_the_mail(nina, mailoutbox) -> None:
    client = Client()
    response = client.post("/accounts/password/reset/", {"email": "nina@example.com"})
    assert response["Location"] == "/accounts/password/reset/done/"
    key_path = link(mailoutbox[-1], "/accounts/password/reset/key/")
    form_path = client.get(key_path)["Location"]  # allauth moves the key out of the URL
    response = client.post(form_path, {"password1": "another-passphrase-8", "password2": "another-passphrase-8"})
    assert response.status_code == 302
    assert log_in(Client(), "nina@example.com", "another-passphrase-8")["Location"] == "/onboarding/"
    assert "not correct" in text(log_in(Client(), "nina@example.com"))


def test_changing_the_email_address_waits_for_verification(nina, mailoutbox) -> None:
    client = signed_in(nina)
    response = client.post("/accounts/email/", {"email": "nina@new.example.com", "action_add": ""})
    assert response.status_code == 302
    assert mailoutbox[-1].to == ["nina@new.example.com"]
    nina.refresh_from_db()
    assert nina.email == "nina@example.com"  # not before the new address is verified
    client.post(link(mailoutbox[-1], "/accounts/confirm-email/"))
    nina.refresh_from_db()
    assert nina.email == "nina@new.example.com"
    assert list(EmailAddress.objects.filter(user=nina).values_list("email", flat=True)) == ["nina@new.example.com"]


def test_failed_logins_are_throttled(nina) -> None:
    for _ in range(5):
        assert "not correct" in text(log_in(Client(), "nina@example.com", "wrong-password"))
    # Even the right password is refused now (allauth's login_failed limit, per address).
    refused = log_in(Client(), "nina@example.com")
    assert refused.status_code == 200 and "Too many failed login attempts" in text(refused)


def test_sign_ups_are_rate_limited_per_address(db, settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    for n in range(2):
        data = {"email": f"s{n}@example.com", "password1": PASSWORD, "password2": PASSWORD}
        assert Client().post("/accounts/signup/", data).status_code == 302
    refused = Client().post(
        "/accounts/signup/", {"email": "s9@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert refused.status_code == 429 and "Too many attempts" in text(refused) and "orchestra.css" in text(refused)
    assert not User.objects.filter(email="s9@example.com").exists()


@pytest.mark.parametrize(
    "path, data",
    [
        ("/accounts/login/", {"login": "nina@example.com", "password": PASSWORD}),
        ("/accounts/signup/", {"email": "x@example.com", "password1": PASSWORD, "password2": PASSWORD}),
        ("/accounts/logout/", {}),
        ("/accounts/password/reset/", {"email": "nina@example.com"}),
        ("/onboarding/organization", {"name": "Forged"}),
        ("/onboarding/skip", {"step": "token"}),
        ("/tokens/", {"name": "forged", "mode": "live"}),
        ("/members/invite", {"email": "x@example.com", "role": "member"}),
        ("/members/leave", {}),
        ("/invitations/accept/", {"decision": "accept"}),
        ("/organizations/switch", {"organization": "x"}),
    ],
)
def test_every_form_needs_its_csrf_token(team, alice, path, data) -> None:
    verified(alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(path, data)
    assert response.status_code == 403, path
    assert not User.objects.filter(email="x@example.com").exists()


def test_csrf_protects_writes_on_members_and_tokens(team, alice, bob) -> None:
    from accounts.models import MCPToken, Membership
    from accounts.services import token_create

    token = token_create(organization=team, user=bob, name="bob's").token
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    bob_membership = Membership.objects.get(organization=team, user=bob)
    for path in (
        f"/tokens/{token.pk}/revoke",
        f"/members/{bob_membership.pk}/role",
        f"/members/{bob_membership.pk}/remove",
    ):
        assert client.post(path, {"role": "viewer"}).status_code == 403, path
    assert MCPToken.objects.get(pk=token.pk).revoked_at is None
    assert Membership.objects.get(pk=bob_membership.pk).role == "member"


PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "from django.test import Client; "
    "r = Client().get('/healthz', secure=True, HTTP_HOST='orchestra.example.com'); "
    "print(json.dumps({'session': s.SESSION_COOKIE_SECURE, 'csrf': s.CSRF_COOKIE_SECURE, "
    "'hsts': s.SECURE_HSTS_SECONDS, 'proxy': getattr(s, 'SECURE_PROXY_SSL_HEADER', None), "
    "'header': r.headers.get('Strict-Transport-Security')}))"
)


def probe(env: dict[str, str]) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k not in ("APP_URL", "SECRET_KEY", "DEBUG", "SECURE_HSTS_SECONDS")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "orchestra.settings", "LOG_LEVEL": "ERROR", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_turns_on_secure_cookies_and_hsts() -> None:
    https = probe({"APP_URL": "https://orchestra.example.com", "SECRET_KEY": "k" * 50})
    assert https["session"] is True and https["csrf"] is True and https["hsts"] == 31_536_000
    # Django itself never believes X-Forwarded-Proto (the web server does, from named proxies).
    assert https["proxy"] is None
    assert https["header"] == "max-age=31536000"
    plain = probe({"APP_URL": "http://127.0.0.1:8000"})
    assert plain["session"] is False and plain["csrf"] is False and plain["hsts"] == 0 and plain["header"] is None
    debugging = probe({"APP_URL": "https://orchestra.example.com", "SECRET_KEY": "k" * 50, "DEBUG": "true"})
    assert debugging["session"] is False and debugging["hsts"] == 0
