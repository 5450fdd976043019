"""End to end in a browser: sign up, verify through the mail that really arrives
over SMTP, onboard (organization, invitation, first token), connect the official
MCP client with the token read from the page; the teammate accepts in a fresh
browser; GitHub sign-in through the stand-in."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import httpx2
from allauth.socialaccount.models import SocialAccount
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.models import Invitation, MCPToken, Membership, Organization, User
from tests.e2e.conftest import screenshot
from tests.people_live import GitHubUser, link_in

pytest_plugins = ["tests.people_fixtures"]

PASSWORD = "correct-horse-battery-9"


def list_tools(url: str, token: str) -> set[str]:
    """tools/list with the official client, on its own thread (Playwright's sync API
    keeps an event loop on this one)."""

    async def run() -> set[str]:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with http, Client(streamable_http_client(url, http_client=http), mode="auto") as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def sign_up_and_verify(page, people_server, email: str, *, shot: str | None = None) -> None:
    """From the sign-up form (already open) to signed in, through the mailed link."""
    if page.locator("#id_email").input_value() != email:
        page.fill("#id_email", email)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    if shot:
        screenshot(page, f"{shot}-signup")
    page.click("form.auth-form button[type=submit]")
    page.wait_for_url("**/accounts/confirm-email/")
    if shot:
        screenshot(page, f"{shot}-verification-sent")
    mail = people_server.mailbox.wait_for(email, containing="/accounts/confirm-email/")
    link = link_in(mail.body, "/accounts/confirm-email/")
    page.goto(link)
    if shot:
        screenshot(page, f"{shot}-confirm-email")
    page.click("form.auth-form button[type=submit]")


def test_sign_up_onboard_connect_and_invite(page, browser, people_server, transactional_db) -> None:
    base = people_server.url
    page.goto(f"{base}/register")
    assert page.url.startswith(f"{base}/accounts/signup/")
    sign_up_and_verify(page, people_server, "founder@example.com", shot="people-01")

    # Onboarding, step 1: the organization.
    page.wait_for_url("**/onboarding/organization")
    screenshot(page, "people-02-onboarding-organization")
    page.fill("#id_name", "Apollo Labs")
    page.click("text=Create organization")

    # Step 2: invite a teammate.
    page.wait_for_url("**/onboarding/invite")
    assert page.locator(".steps li.done").count() == 1
    screenshot(page, "people-03-onboarding-invite")
    page.fill("#id_emails", "dana@example.com")
    page.select_option("#id_role", "member")
    page.click("text=Send invitations")

    # Step 3: the first token, shown once with its .mcp.json blocks.
    page.wait_for_url("**/onboarding/token")
    screenshot(page, "people-04-onboarding-token")
    page.fill("#id_name", "Founder's laptop")
    page.click("text=Create token")
    token = page.locator("#new-token").inner_text().strip()
    assert re.fullmatch(r"orch_live_[0-9A-Za-z]{38}", token)
    assert token in page.locator("#snippet-http").inner_text()
    assert '"type": "sse"' in page.locator("#snippet-sse").inner_text()
    screenshot(page, "people-05-token-shown-once")
    tools = list_tools(people_server.server.mcp_url, token)
    assert {"get_context", "create_project", "store_memory", "create_task"} <= tools and len(tools) >= 50

    # Onboarding is done: the dashboard has no setup banner, the token page lists it masked.
    page.click("text=Go to your dashboard")
    page.wait_for_url(f"{base}/")
    assert page.locator(".setup-banner").count() == 0
    page.goto(f"{base}/tokens/")
    assert token not in page.content() and token[-4:] in page.content()
    screenshot(page, "people-06-tokens")
    page.goto(f"{base}/members/")
    assert "dana@example.com" in page.locator("table").nth(1).inner_text()
    screenshot(page, "people-07-members")
    page.goto(f"{base}/connect/")
    screenshot(page, "people-08-connect")

    # Dana follows the mailed link in her own browser, signs up, verifies, and joins.
    invitation_mail = people_server.mailbox.wait_for("dana@example.com")
    assert "Apollo Labs" in invitation_mail.subject
    link = link_in(invitation_mail.body, "/invitations/")
    dana_context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        dana = dana_context.new_page()
        dana.goto(link)
        dana.wait_for_url("**/invitations/accept/")  # the secret leaves the address bar
        screenshot(dana, "people-09-invitation-welcome")
        dana.click("text=Create an account")
        assert dana.locator("#id_email").input_value() == "dana@example.com"
        sign_up_and_verify(dana, people_server, "dana@example.com")
        dana.wait_for_url("**/invitations/accept/")
        screenshot(dana, "people-10-invitation-accept")
        dana.click("text=Accept and join")
        dana.wait_for_url(f"{base}/")
        assert "Welcome to Apollo Labs" in dana.content()
        screenshot(dana, "people-11-joined")

        # The link is used now: following it again says so, and changes nothing.
        dana.goto(link)
        assert "already used" in dana.content()
        screenshot(dana, "people-12-invitation-used")
    finally:
        dana_context.close()

    apollo = Organization.objects.get(name="Apollo Labs", is_sandbox=False)
    assert Membership.objects.get(organization=apollo, user__email="dana@example.com").role == "member"
    assert Invitation.objects.get(email="dana@example.com").accepted_by == User.objects.get(email="dana@example.com")
    assert MCPToken.objects.get(organization=apollo).user.email == "founder@example.com"


def test_github_sign_in_in_the_browser(page, people_server, transactional_db) -> None:
    base = people_server.url
    people_server.github.user = GitHubUser(id=31337, login="ada", name="Ada Lovelace", email="ada@example.com")
    page.goto(f"{base}/accounts/login/")
    screenshot(page, "people-13-login")
    page.click("text=Continue with GitHub")
    page.wait_for_url("**/onboarding/organization")
    assert "ada@example.com" in page.content()
    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/")

    page.click("text=Continue with GitHub")  # again: the same account
    page.wait_for_url("**/onboarding/organization")
    assert User.objects.filter(email="ada@example.com").count() == 1
    assert SocialAccount.objects.get(provider="github", uid="31337").user.name == "Ada Lovelace"


def test_account_pages_look_right(page, people_server, transactional_db) -> None:
    """Screens that the flows above do not pass through."""
    base = people_server.url
    page.goto(f"{base}/accounts/password/reset/")
    screenshot(page, "people-14-password-reset")
    page.goto(f"{base}/invitations/not-a-real-secret/")
    assert "not valid" in page.content()
    screenshot(page, "people-15-invitation-invalid")
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", "nobody@example.com")
    page.fill("#id_password", "wrong-password-1")
    page.click("form.auth-form button[type=submit]")
    assert "not correct" in page.content()
    screenshot(page, "people-16-login-failed")


def person(email: str, name: str = "") -> User:
    """A verified account whose password the server can check: this process hashes
    with MD5 for speed (tests.conftest), which the server does not accept."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from tests.dashboard.people_world import verified

    user = User.objects.create_user(email, None, name=name)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "e2e-salt-e2e", iterations=1000)
    user.save(update_fields=["password"])
    return verified(user)


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    page.click("form.auth-form button[type=submit]")


def test_pages_of_each_role_look_right(page, browser, people_server, transactional_db, mailoutbox) -> None:
    """An owner with a team, a token of each kind and a pending invitation; a viewer;
    someone signed in with another address than the invitation's."""
    from accounts.invitations import invitation_create
    from accounts.models import Role
    from accounts.services import membership_set, organization_create, token_create

    base = people_server.url
    owner = person("olga@example.com", "Olga")
    viewer = person("victor@example.com", "Victor")
    stranger = person("sam@example.com")
    org = organization_create(name="Zenith", owner=owner)
    membership_set(organization=org, user=viewer, role=Role.VIEWER)
    token_create(organization=org, user=viewer, name="CI", mode="test", scopes=["read"])
    revoked = token_create(organization=org, user=viewer, name="old laptop").token
    revoked.revoked_at = revoked.created_at
    revoked.save()
    invitation_create(organization=org, email="pat@example.com", role="admin", invited_by=owner, base_url=base)
    link = link_in(mailoutbox[-1].body, "/invitations/")  # sent from this process

    log_in(page, base, "olga@example.com", PASSWORD)
    page.wait_for_url(f"{base}/")
    assert page.locator(".setup-banner").count() == 1  # no live token of her own yet: one step left
    screenshot(page, "people-20-home-setup-banner")
    page.goto(f"{base}/tokens/")
    page.fill("#id_name", "Olga's laptop")
    page.check("#id_read_only")
    page.fill("#id_expires_in_days", "30")
    page.click("text=Create token")
    assert page.locator("#new-token").count() == 1
    screenshot(page, "people-21-token-created")
    page.click("text=Done")
    screenshot(page, "people-22-tokens-owner")
    page.locator("a.button", has_text="Revoke").first.click()
    screenshot(page, "people-23-token-revoke-confirm")
    page.goto(f"{base}/members/")
    screenshot(page, "people-24-members-owner")
    page.goto(f"{base}/accounts/email/")
    screenshot(page, "people-25-account-email")
    page.goto(f"{base}/accounts/password/change/")
    screenshot(page, "people-26-account-password")

    viewer_context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    try:
        phone = viewer_context.new_page()
        log_in(phone, base, "victor@example.com", PASSWORD)
        phone.goto(f"{base}/tokens/")
        assert "always read-only" in phone.content()
        screenshot(phone, "people-27-tokens-viewer-phone")
        phone.goto(f"{base}/members/")
        assert phone.locator("select").count() == 0
        screenshot(phone, "people-28-members-viewer-phone")
    finally:
        viewer_context.close()

    stranger_context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        other = stranger_context.new_page()
        log_in(other, base, "sam@example.com", PASSWORD)
        other.goto(link)
        assert "for someone else" in other.content()
        screenshot(other, "people-29-invitation-wrong-account")
    finally:
        stranger_context.close()
    assert not Membership.objects.filter(user=stranger).exists()
