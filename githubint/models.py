"""GitHub rows: an organization's connection (an App installation or an encrypted
fine-grained token), the repositories connected to its projects with their synced
metadata, and the webhook deliveries received (for idempotency)."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel


class ConnectionKind(models.TextChoices):
    APP = "app"  # a GitHub App installation
    TOKEN = "token"  # noqa: S105 (a kind, not a secret): a fine-grained personal access token (encrypted)


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # the installation was suspended on GitHub
    DELETED = "deleted"  # the App was uninstalled on GitHub


class GitHubConnection(TenantModel):
    """How one organization reaches GitHub. Organization-level (no project): a
    project-restricted token uses it through the selectors, never writes it. An
    installation links to exactly one organization (a unique constraint)."""

    PROJECT_PATHS = ()

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    kind = models.CharField(max_length=10, choices=ConnectionKind.choices)
    status = models.CharField(max_length=10, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE)
    installation_id = models.BigIntegerField(null=True, blank=True)
    account_login = models.CharField(max_length=100, blank=True)
    account_type = models.CharField(max_length=20, blank=True)  # "Organization" or "User"
    # A fine-grained personal access token, encrypted (githubint.crypto); never shown again.
    token_encrypted = models.TextField(blank=True)
    token_last4 = models.CharField(max_length=4, blank=True)
    # Who connected it (for a token: whose pull requests they are).
    connected_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="github_connection_per_org"),
            models.UniqueConstraint(
                fields=["installation_id"],
                condition=models.Q(installation_id__isnull=False),
                name="github_installation_links_one_org",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="app", installation_id__isnull=False)
                | models.Q(kind="token", installation_id__isnull=True),
                name="github_connection_kind_matches",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.account_login or self.installation_id}"


class SyncStatus(models.TextChoices):
    PENDING = "pending"
    SYNCING = "syncing"
    OK = "ok"
    ERROR = "error"


class Repository(TenantModel):
    """A GitHub repository connected to a project, with what the last sync saw."""

    PROJECT_PATHS = ("project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="repositories")
    full_name = models.CharField(max_length=200)  # owner/name, as GitHub spells it
    github_id = models.BigIntegerField(null=True, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    private = models.BooleanField(default=True)
    default_branch = models.CharField(max_length=255, blank=True)
    branches = models.JSONField(default=list, blank=True)  # [{"name", "sha"}]
    languages = models.JSONField(default=dict, blank=True)  # {"Python": bytes}
    open_pull_requests = models.JSONField(default=list, blank=True)
    latest_commits = models.JSONField(default=list, blank=True)
    sync_status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    sync_error = models.TextField(blank=True)
    sync_requested_at = models.DateTimeField(default=timezone.now)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # The branch and pull request generate_claude_md keeps updating.
    claude_md_branch = models.CharField(max_length=255, blank=True)
    claude_md_pull_number = models.IntegerField(null=True, blank=True)
    connected_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "full_name"], name="github_repository_once_per_org")
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="github_repo_org_created")]

    def __str__(self) -> str:
        return self.full_name


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received"  # queued for the worker
    HANDLED = "handled"  # its task succeeded: a redelivery is a no-op
    FAILED = "failed"  # its task failed: a redelivery runs it again


class WebhookDelivery(models.Model):
    """A webhook delivery from GitHub, by its X-GitHub-Delivery id. Not a tenant row:
    it arrives before anyone knows which organization it concerns (its installation
    says so). The body is kept until its task succeeds."""

    delivery_id = models.CharField(max_length=100, primary_key=True)
    event = models.CharField(max_length=50)
    action = models.CharField(max_length=50, blank=True)
    installation_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED)
    payload = models.BinaryField(blank=True, default=b"")
    error = models.TextField(blank=True)
    attempts = models.IntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-received_at"], name="github_delivery_received")]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"
