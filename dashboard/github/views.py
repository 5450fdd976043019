"""The GitHub page (owners and admins): install the GitHub App (or store a fine-grained
token), see the installation, its repositories, the projects they serve, their last
sync and errors, and disconnect. The install flow's checks are in githubint.install."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from githubkit.exception import GitHubException

from accounts.models import Role
from dashboard.context import role_required
from githubint import install
from githubint.client import app_configured, json_of, token_client
from githubint.errors import github_error
from githubint.models import ConnectionKind, Repository
from githubint.selectors import connection_for, installation_url
from githubint.services import connection_disconnect, connection_link_installation, connection_store_token
from orchestra.actor import Actor
from orchestra.errors import ToolError

MANAGERS = (Role.OWNER, Role.ADMIN)
TOKEN_PREFIXES = ("github_pat_", "ghp_")


class TokenForm(forms.Form):
    token = forms.CharField(
        max_length=400,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="A fine-grained personal access token with Contents and Pull requests (read and write) "
        "and Metadata (read) on the repositories agents should use.",
    )

    def clean_token(self) -> str:
        token = str(self.cleaned_data["token"])
        if not token.startswith(TOKEN_PREFIXES):
            raise forms.ValidationError("A fine-grained personal access token starts with github_pat_.")
        return token


def _actor(request: HttpRequest) -> Actor:
    return Actor(user_id=request.user.pk, tool="dashboard")


def _page(request: HttpRequest, token_form: TokenForm | None = None, status: int = 200) -> HttpResponse:
    connection = connection_for(request.organization)  # type: ignore[attr-defined]
    repositories = Repository.objects.select_related("project").order_by("full_name")
    context: dict[str, Any] = {
        "section": "github",
        "app_configured": app_configured(),
        "connection": connection,
        "manage_url": installation_url(connection) if connection is not None else "",
        "repositories": repositories,
        "token_form": token_form or TokenForm(),
        "setup_url": install.setup_url(),
        "webhook_url": f"{settings.APP_URL}/webhooks/github/",
        "token_kind": ConnectionKind.TOKEN,
    }
    return render(request, "web/github/page.html", context, status=status)


@never_cache
@role_required(*MANAGERS)
def github(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@role_required(*MANAGERS)
def github_install(request: HttpRequest) -> HttpResponse:
    if not app_configured():
        messages.error(request, "This server has no GitHub App yet: see how to set one up below.")
        return redirect("web:github")
    return HttpResponseRedirect(install.install_url(install.issue_state(request)))


@never_cache
@role_required(*MANAGERS)
def github_setup(request: HttpRequest) -> HttpResponse:
    """GitHub's setup URL (after installing) and the App's OAuth callback."""
    try:
        payload = install.consume_state(request, request.GET.get("state", ""))
        raw_id = payload.get("installation_id") or request.GET.get("installation_id", "")
        try:
            installation_id = int(raw_id)
        except (TypeError, ValueError):
            raise install.InstallRefused("GitHub sent no installation id; start again") from None
        code = request.GET.get("code")
        if not code:
            # Who is this on GitHub? Ask through the App's own OAuth, then come back here.
            return HttpResponseRedirect(
                install.authorize_url(install.issue_state(request, installation_id=installation_id))
            )
        user_token = install.exchange_code(code)
        installation = install.confirm_installation(user_token, installation_id)
        account = installation.get("account") or {}
        connection_link_installation(
            actor=_actor(request),
            organization=request.organization,  # type: ignore[attr-defined]
            installation_id=installation_id,
            account_login=str(account.get("login", "")),
            account_type=str(account.get("type", installation.get("target_type", ""))),
            suspended=bool(installation.get("suspended_at")),
        )
    except ToolError as exc:
        messages.error(request, f"GitHub was not connected: {exc.message}")
        return _page(request, status=403)
    messages.success(request, f"GitHub connected: the App is installed on {account.get('login')}.")
    return redirect("web:github")


@require_POST
@role_required(*MANAGERS)
def github_token(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    token = form.cleaned_data["token"]
    try:
        try:
            github = token_client(token)  # held: githubkit's namespaces keep only a weak reference
            login = json_of(github.rest.users.get_authenticated())["login"]
        except GitHubException as exc:
            raise github_error(exc, "checking the token") from None
        connection_store_token(
            actor=_actor(request),
            organization=request.organization,  # type: ignore[attr-defined]
            token=token,
            account_login=str(login),
        )
    except ToolError as exc:
        form.add_error("token", exc.message)
        return _page(request, form, status=400)
    messages.success(request, f"Token of {login} stored (encrypted; it is not shown again).")
    return redirect("web:github")


@require_POST
@role_required(*MANAGERS)
def github_disconnect(request: HttpRequest) -> HttpResponse:
    if connection_disconnect(actor=_actor(request), organization=request.organization):  # type: ignore[attr-defined]
        messages.success(request, "GitHub disconnected. Repositories stay listed, without syncs.")
    return redirect("web:github")
