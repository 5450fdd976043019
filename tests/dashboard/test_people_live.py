"""Sign-up mail over real SMTP and GitHub sign-in through the stand-in, against a
real server (EMAIL_URL and GITHUB_URL set in its environment)."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount

from accounts.models import Membership, User
from accounts.services import organization_create
from tests.people_live import GitHubUser, link_in, post_form

pytest_plugins = ["tests.people_fixtures"]
pytestmark = [pytest.mark.acceptance]


def test_sign_up_mail_arrives_over_smtp_and_verifying_signs_in(people_server, transactional_db) -> None:
    with people_server.client() as client:
        signed_up = post_form(
            client,
            "/accounts/signup/",
            {"email": "erin@example.com", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
        )
        assert signed_up.url.path == "/accounts/confirm-email/" and "Verify" in signed_up.text
        # Not signed in before verifying.
        assert client.get("/tokens/").url.path == "/accounts/login/"

        mail = people_server.mailbox.wait_for("erin@example.com")
        assert mail.subject.startswith("[Orchestra] ") and mail.sender == "orchestra@example.com"
        assert mail.body.startswith("Hello from Orchestra!")  # not the server's host and port
        link = link_in(mail.body, "/accounts/confirm-email/")
        assert link.startswith(people_server.url)

        confirm_page = client.get(link)
        assert confirm_page.status_code == 200
        assert not EmailAddress.objects.get(email="erin@example.com").verified  # a GET confirms nothing
        landed = post_form(client, link, {})
        assert landed.url.path == "/onboarding/organization", landed.url
        assert EmailAddress.objects.get(email="erin@example.com").verified


def test_github_sign_up_then_login_finds_the_same_account(people_server, transactional_db) -> None:
    github = people_server.github
    github.user = GitHubUser(id=9001, login="gracehopper", name="Grace Hopper", email="grace@example.com")
    with people_server.client() as client:
        login_page = client.get("/accounts/login/")
        assert "Continue with GitHub" in login_page.text
        landed = post_form(client, "/accounts/github/login/?process=login", {}, page="/accounts/login/")
        assert landed.url.path == "/onboarding/organization", landed.url
        assert {"GET /login/oauth/authorize", "POST /login/oauth/access_token", "GET /api/v3/user"} <= set(
            github.requests
        )

        user = User.objects.get(email="grace@example.com")
        assert user.name == "Grace Hopper"
        assert SocialAccount.objects.get(user=user, provider="github").uid == "9001"
        assert EmailAddress.objects.get(user=user).verified  # GitHub said so: no mail needed
        organization_create(name="Hopper Labs", owner=user)
        post_form(client, "/accounts/logout/", {}, page="/")
        assert client.get("/tokens/").url.path == "/accounts/login/"

    with people_server.client() as client:  # a new browser, the same GitHub account
        landed = post_form(client, "/accounts/github/login/?process=login", {}, page="/accounts/signup/")
        assert landed.url.path == "/", landed.url
        assert "Hopper Labs" in landed.text
    assert User.objects.filter(email="grace@example.com").count() == 1
    assert SocialAccount.objects.count() == 1
    assert Membership.objects.filter(user=user).count() == 1


def test_github_login_connects_to_an_existing_account_with_that_verified_email(people_server, transactional_db) -> None:
    existing = User.objects.create_user("linus@example.com", "pw-linus-123456", name="Linus")
    EmailAddress.objects.create(user=existing, email="linus@example.com", verified=True, primary=True)
    people_server.github.user = GitHubUser(id=77, login="torvalds", name="L. T.", email="linus@example.com")
    with people_server.client() as client:
        landed = post_form(client, "/accounts/github/login/?process=login", {}, page="/accounts/login/")
        assert landed.url.path == "/onboarding/organization"
    assert User.objects.filter(email="linus@example.com").count() == 1
    assert SocialAccount.objects.get(provider="github").user_id == existing.pk
