"""Installing the GitHub App from the dashboard, safely.

The `installation_id` GitHub appends to the setup URL can be forged, and only a user
token of this same App can list a person's installations. So:

1. "Install on GitHub" carries a signed, single-use `state` bound to the session, the
   person and the organization.
2. Back on the setup URL, Orchestra checks that state, then gets the person's user
   token through the App's own OAuth (a second single-use state, carrying the
   installation id), unless GitHub already sent a `code` (OAuth during installation).
3. With that token, the installation must be among `GET /user/installations`, and the
   person must administer its account: the account itself, or an admin of the GitHub
   organization (`GET /user/memberships/orgs/{org}`). The user token is never stored.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac
from githubkit.exception import GitHubException, RequestFailed

from githubint.client import all_pages, json_of, status_of, token_client
from githubint.errors import github_error
from orchestra.errors import PermissionDenied, ToolError

SALT = "orchestra.github.install"
STATE_MAX_AGE = 3600
SESSION_NONCES = "github_install_nonces"


class InstallRefused(ToolError):
    code = "permission_denied"
    http_status = 403


def _session_key_digest(request: Any) -> str:
    if not request.session.session_key:
        request.session.save()
    return salted_hmac(SALT, request.session.session_key).hexdigest()[:32]


def issue_state(request: Any, **extra: Any) -> str:
    """A signed state for this session, person and organization; single use."""
    nonce = secrets.token_urlsafe(16)
    nonces = list(request.session.get(SESSION_NONCES, []))[-4:]
    request.session[SESSION_NONCES] = [*nonces, nonce]
    payload = {
        "n": nonce,
        "s": _session_key_digest(request),
        "u": str(request.user.pk),
        "o": str(request.organization.pk),
        **extra,
    }
    return signing.dumps(payload, salt=SALT)


def consume_state(request: Any, state: str) -> dict[str, Any]:
    """The state's payload if it was issued to this session, person and organization and
    not used yet; it cannot be used again."""
    try:
        payload = signing.loads(state, salt=SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:
        raise InstallRefused("the installation link is invalid or expired; start again from the GitHub page") from None
    nonces = list(request.session.get(SESSION_NONCES, []))
    if (
        payload.get("n") not in nonces
        or payload.get("s") != _session_key_digest(request)
        or payload.get("u") != str(request.user.pk)
        or payload.get("o") != str(request.organization.pk)
    ):
        raise InstallRefused("this installation link was not issued to you here, or was already used; start again")
    nonces.remove(payload["n"])
    request.session[SESSION_NONCES] = nonces
    return dict(payload)


def install_url(state: str) -> str:
    return f"{settings.GITHUB_URL}/apps/{settings.GITHUB_APP_SLUG}/installations/new?{urlencode({'state': state})}"


def setup_url() -> str:
    return f"{settings.APP_URL}/github/setup"


def authorize_url(state: str) -> str:
    query = urlencode({"client_id": settings.GITHUB_APP_CLIENT_ID, "redirect_uri": setup_url(), "state": state})
    return f"{settings.GITHUB_URL}/login/oauth/authorize?{query}"


def exchange_code(code: str) -> str:
    """The person's user token for this App (kept in memory for this request only)."""
    try:
        response = httpx.post(
            f"{settings.GITHUB_URL}/login/oauth/access_token",
            data={
                "client_id": settings.GITHUB_APP_CLIENT_ID,
                "client_secret": settings.GITHUB_APP_CLIENT_SECRET,
                "code": code,
                "redirect_uri": setup_url(),
            },
            headers={"Accept": "application/json"},
            timeout=settings.GITHUB_TIMEOUT_SECONDS,
        )
        token = response.json().get("access_token") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        token = None
    if not token:
        raise InstallRefused("GitHub did not confirm who you are (the authorization code was refused); start again")
    return str(token)


def confirm_installation(user_token: str, installation_id: int) -> dict[str, Any]:
    """The installation, if the person behind `user_token` sees it and administers its account."""
    github = token_client(user_token)
    try:
        login = json_of(github.rest.users.get_authenticated())["login"]
        installations = list(
            all_pages(
                lambda page: github.rest.apps.list_installations_for_authenticated_user(per_page=100, page=page),
                key="installations",
            )
        )
        installation = next((i for i in installations if i.get("id") == installation_id), None)
        if installation is None:
            raise InstallRefused(
                f"installation {installation_id} is not among the installations your GitHub account ({login}) can see"
            )
        account = installation.get("account") or {}
        if account.get("type", installation.get("target_type")) == "Organization":
            try:
                membership = json_of(github.rest.orgs.get_membership_for_authenticated_user(account["login"]))
            except RequestFailed as exc:
                if status_of(exc) not in (403, 404):
                    raise
                membership = {}
            if membership.get("role") != "admin" or membership.get("state") != "active":
                raise InstallRefused(f"{login} is not an admin of the GitHub organization {account.get('login')}")
        elif account.get("login") != login:
            raise InstallRefused(f"installation {installation_id} belongs to {account.get('login')}, not to {login}")
    except GitHubException as exc:
        raise github_error(exc, "confirming the installation") from None
    return dict(installation)


def app_installation(installation_id: int) -> dict[str, Any]:
    """The installation as the App sees it (its own JWT): for operators' connectgithub."""
    from githubint.client import app_client

    try:
        github = app_client()  # held: githubkit's namespaces keep only a weak reference to it
        return dict(json_of(github.rest.apps.get_installation(installation_id)))
    except RequestFailed as exc:
        if status_of(exc) == 404:
            raise PermissionDenied(f"the GitHub App has no installation {installation_id}") from None
        raise github_error(exc, "reading the installation") from None
    except GitHubException as exc:
        raise github_error(exc, "reading the installation") from None
