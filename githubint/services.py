"""Writes for GitHub rows: one transaction and one audit row each.

The connection is the organization's (live organization's) row; repositories belong
to projects. Syncs are enqueued on commit (githubint.jobs)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization
from audit.actions import Action
from audit.services import record
from githubint.crypto import encrypt
from githubint.jobs import schedule_sync
from githubint.models import ConnectionKind, ConnectionStatus, GitHubConnection, Repository, SyncStatus
from orchestra.actor import Actor
from orchestra.errors import Conflict, InvalidArguments
from orchestra.tenancy import tenant_scope
from tools.activity.services import activity_record
from tools.projects.models import Project


def _record(
    actor: Actor, organization: Organization, type: str, target: Any, description: str, **metadata: Any
) -> None:
    with tenant_scope(organization):
        activity_record(actor=actor, type=type, target=target, description=description, metadata=metadata)


def _connection_for_update(organization: Organization) -> GitHubConnection:
    """The organization's connection, locked until commit, or a new unsaved one."""
    if organization.is_sandbox:
        raise InvalidArguments("a sandbox uses its live organization's GitHub connection")
    connection = GitHubConnection.unscoped.select_for_update().filter(organization=organization).first()
    return connection if connection is not None else GitHubConnection(organization=organization)


@transaction.atomic
def connection_link_installation(
    *,
    actor: Actor,
    organization: Organization,
    installation_id: int,
    account_login: str,
    account_type: str,
    suspended: bool = False,
) -> GitHubConnection:
    """Link a GitHub App installation to `organization` (replacing its previous
    connection). An installation links to exactly one organization."""
    connection = _connection_for_update(organization)
    connection.kind = ConnectionKind.APP
    connection.installation_id = installation_id
    connection.account_login = account_login
    connection.account_type = account_type
    connection.status = ConnectionStatus.SUSPENDED if suspended else ConnectionStatus.ACTIVE
    connection.token_encrypted = ""
    connection.token_last4 = ""
    connection.connected_by_id = actor.user_id
    try:
        with transaction.atomic():  # the unique installation: another organization may hold it
            connection.save()
    except IntegrityError:
        raise Conflict(
            f"GitHub installation {installation_id} is already linked to another Orchestra organization"
        ) from None
    _record(
        actor,
        organization,
        "github.connected",
        connection,
        f"GitHub App installed on {account_login}",
        installation_id=installation_id,
    )
    record(
        organization=organization,
        action=Action.GITHUB_CONNECTED,
        actor=actor,
        target=account_login,
        details={"kind": ConnectionKind.APP.value, "installation_id": installation_id},
    )
    return connection


@transaction.atomic
def connection_store_token(
    *, actor: Actor, organization: Organization, token: str, account_login: str
) -> GitHubConnection:
    """Store a fine-grained personal access token (encrypted; never shown again)."""
    connection = _connection_for_update(organization)
    connection.kind = ConnectionKind.TOKEN
    connection.installation_id = None
    connection.account_login = account_login
    connection.account_type = "User"
    connection.status = ConnectionStatus.ACTIVE
    connection.token_encrypted = encrypt(token)
    connection.token_last4 = token[-4:]
    connection.connected_by_id = actor.user_id
    connection.save()
    _record(actor, organization, "github.connected", connection, f"GitHub token of {account_login} stored")
    record(
        organization=organization,
        action=Action.GITHUB_CONNECTED,
        actor=actor,
        target=account_login,
        details={"kind": ConnectionKind.TOKEN.value, "token_last4": connection.token_last4},
    )
    return connection


@transaction.atomic
def connection_disconnect(*, actor: Actor, organization: Organization) -> bool:
    """Forget the organization's GitHub connection (its repositories stay, unsynced)."""
    connection = GitHubConnection.unscoped.filter(organization=organization).first()
    if connection is None:
        return False
    connection.delete()
    _record(actor, organization, "github.disconnected", None, f"GitHub disconnected ({connection.account_login})")
    record(
        organization=organization,
        action=Action.GITHUB_DISCONNECTED,
        actor=actor,
        target=connection.account_login,
        details={"kind": connection.kind, "installation_id": connection.installation_id},
    )
    return True


@transaction.atomic
def connection_set_status(*, installation_id: int, status: str) -> int:
    """GitHub said the installation was suspended, unsuspended or deleted (webhooks).
    An uninstall on GitHub's side is a disconnection in the organization's audit trail."""
    if status == ConnectionStatus.DELETED:
        for organization_id, login in (
            GitHubConnection.unscoped.filter(installation_id=installation_id)
            .exclude(status=status)
            .values_list("organization_id", "account_login")
        ):
            record(
                organization=organization_id,
                action=Action.GITHUB_DISCONNECTED,
                actor_label="GitHub (the App was uninstalled there)",
                target=login,
                details={"installation_id": installation_id},
            )
    return GitHubConnection.unscoped.filter(installation_id=installation_id).update(
        status=status, updated_at=timezone.now()
    )


def repository_connect(*, actor: Actor, project: Project, metadata: dict[str, Any]) -> tuple[Repository, bool]:
    """Store a repository GitHub showed us for `project`, and start its sync. Connecting
    it again to the same project is a no-op that starts another sync."""
    full_name = metadata["full_name"]
    existing = Repository.objects.filter(full_name__iexact=full_name).first()
    if existing is not None and existing.project_id != project.pk:
        raise Conflict(
            f"{full_name} is already connected to another project of this organization",
            details={"repository": str(existing.pk)},
        )
    created = existing is None
    repository = existing or Repository(
        organization_id=project.organization_id, project=project, full_name=full_name, connected_by_id=actor.user_id
    )
    repository.github_id = metadata.get("github_id")
    repository.html_url = metadata.get("html_url", "")
    repository.private = bool(metadata.get("private", True))
    repository.default_branch = metadata.get("default_branch", "")
    repository.sync_status = SyncStatus.PENDING
    repository.sync_requested_at = timezone.now()
    try:
        with transaction.atomic():
            repository.save()
    except IntegrityError:
        # Connected to a project this caller cannot see (a project-restricted token).
        raise Conflict(f"{full_name} is already connected to another project of this organization") from None
    activity_record(
        actor=actor,
        type="github.repository_connected" if created else "github.sync_requested",
        target=repository,
        description=f"{full_name} connected to {project.name}" if created else f"{full_name} sync requested",
        project_id=project.pk,
    )
    transaction.on_commit(lambda: schedule_sync(repository.pk))
    return repository, created


def repository_request_sync(*, actor: Actor, repository: Repository) -> Repository:
    """Mark a sync requested and enqueue it (on commit). A sync already queued or
    running is not queued twice."""
    already = repository.sync_status in (SyncStatus.PENDING, SyncStatus.SYNCING)
    if not already:
        Repository.objects.filter(pk=repository.pk).update(
            sync_status=SyncStatus.PENDING, sync_requested_at=timezone.now()
        )
        repository.sync_status = SyncStatus.PENDING
    activity_record(
        actor=actor,
        type="github.sync_requested",
        target=repository,
        description=f"{repository.full_name} sync requested",
        project_id=repository.project_id,
    )
    transaction.on_commit(lambda: schedule_sync(repository.pk))
    return repository


def repository_record_pull(
    *, actor: Actor, repository: Repository, pull: dict[str, Any] | None, dry_run: bool, description: str
) -> None:
    """The audit row of a pull request opened (or, for a test token, only described)."""
    activity_record(
        actor=actor,
        type="github.pull_request_dry_run" if dry_run else "github.pull_request_opened",
        target=repository,
        description=description,
        project_id=repository.project_id,
        metadata={"pull_request": pull or {}, "dry_run": dry_run},
    )
    if pull and not dry_run:
        open_pulls = [p for p in repository.open_pull_requests if p.get("number") != pull["number"]]
        Repository.objects.filter(pk=repository.pk).update(open_pull_requests=[pull, *open_pulls])


def repository_record_claude_md(*, actor: Actor, repository: Repository, outcome: Any, dry_run: bool) -> None:
    """Remember the branch and pull request a committing generate_claude_md used, with its audit row."""
    if not dry_run and outcome.pull_number:
        Repository.objects.filter(pk=repository.pk).update(
            claude_md_branch=outcome.branch or "", claude_md_pull_number=outcome.pull_number
        )
    activity_record(
        actor=actor,
        type="github.claude_md_dry_run" if dry_run else "github.claude_md_committed",
        target=repository,
        description=f"CLAUDE.md {outcome.action} in {repository.full_name}",
        project_id=repository.project_id,
        metadata={"action": outcome.action, "branch": outcome.branch, "pull_request": outcome.pull_number},
    )
