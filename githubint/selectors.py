"""Reads for GitHub: the organization's connection, its repositories, and a client
that acts through the connection.

A sandbox (test tokens) reads through its live organization's connection, and a
project-restricted token uses its organization's connection: the connection is an
organization-level row, so it is read with `unscoped` and an explicit organization."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from githubkit import GitHub

from accounts.models import Organization
from githubint import client
from githubint.crypto import SecretUnreadable, decrypt
from githubint.models import ConnectionKind, ConnectionStatus, GitHubConnection, Repository
from orchestra.errors import Conflict, not_found
from orchestra.ids import parse_uuid
from orchestra.tenancy import current_organization_id


def live_organization_id(organization: Organization | Any) -> Any:
    """The organization whose GitHub connection serves `organization` (a sandbox's live one)."""
    if isinstance(organization, Organization):
        return organization.live_organization_id if organization.is_sandbox else organization.pk
    row = Organization.objects.filter(pk=organization).only("is_sandbox", "live_organization_id").first()
    if row is None:
        return organization
    return row.live_organization_id if row.is_sandbox else row.pk


def connection_for(organization: Organization | Any) -> GitHubConnection | None:
    # Organization-level row of the (live) organization, on purpose across the sandbox line.
    return (
        GitHubConnection.unscoped.filter(organization_id=live_organization_id(organization))
        .select_related("connected_by")
        .first()
    )


def setup_hint() -> str:
    if settings.GITHUB_APP_ID:
        return "an owner or admin connects it in the dashboard (GitHub page)"
    return (
        "an owner or admin stores a fine-grained token on the dashboard's GitHub page, "
        "or the operator sets up the GitHub App (README, Connect GitHub)"
    )


def usable_connection(organization: Organization | Any) -> GitHubConnection:
    """The connection, or a clear tool error saying why there is none to use."""
    connection = connection_for(organization)
    if connection is None:
        raise Conflict(f"GitHub is not connected: {setup_hint()}", details={"github": "not_connected"})
    if connection.status != ConnectionStatus.ACTIVE:
        raise Conflict(
            f"GitHub is not connected: the installation on {connection.account_login} was {connection.status} on "
            f"GitHub; {setup_hint()}",
            details={"github": connection.status},
        )
    if connection.kind == ConnectionKind.APP and not client.app_configured():
        raise Conflict(
            "GitHub is not connected: this server's GitHub App settings are missing (GITHUB_APP_ID, "
            "GITHUB_APP_PRIVATE_KEY, GITHUB_APP_SLUG)",
            details={"github": "app_not_configured"},
        )
    return connection


def github_for(connection: GitHubConnection) -> GitHub[Any]:
    if connection.kind == ConnectionKind.APP:
        assert connection.installation_id is not None
        return client.installation_client(connection.installation_id)
    try:
        return client.token_client(decrypt(connection.token_encrypted))
    except SecretUnreadable:
        raise Conflict(
            "GitHub is not connected: the stored token cannot be decrypted with ENCRYPTION_KEYS; store it again",
            details={"github": "token_unreadable"},
        ) from None


def installation_url(connection: GitHubConnection) -> str:
    """Where people add repositories to the installation (or what the token reaches)."""
    web = settings.GITHUB_URL
    if connection.kind == ConnectionKind.APP:
        if connection.account_type == "Organization":
            return f"{web}/organizations/{connection.account_login}/settings/installations/{connection.installation_id}"
        return f"{web}/settings/installations/{connection.installation_id}"
    return f"{web}/settings/personal-access-tokens"


def repositories() -> QuerySet[Repository]:
    return Repository.objects.filter(organization_id=current_organization_id())


def repository_get(ref: str, *, argument: str = "repository") -> Repository:
    """A connected repository of the organization in scope, by id or owner/name."""
    uid = parse_uuid(ref)
    lookup = Q(pk=uid) if uid is not None else Q(full_name__iexact=ref)
    row = repositories().filter(lookup).select_related("project").first()
    if row is None:
        raise not_found(argument, ref)
    return row
