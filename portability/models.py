"""Bookkeeping of exports and imports: which rows an import made (so the same file
imported again changes nothing), and the files the dashboard builds and receives."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id


class ImportedRow(models.Model):
    """One row an import created in `organization`: the id it had in the file and the id
    it has here. Looked up by the importer only, always naming the organization, so a
    file can never reach a row another organization imported (not a TenantModel: the
    importer works on it inside its own transaction, by organization)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    source_id = models.UUIDField()
    target_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "source_id"], name="importedrow_once_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id} -> {self.target_id}"


class JobStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"  # an export: downloadable; an import: done
    FAILED = "failed"
    EXPIRED = "expired"


class ExportJob(models.Model):
    """An export an owner asked for in the dashboard: built by a Celery task into
    PORTABILITY_DIR, downloadable until `expires_at`, then removed by the beat."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    project_id = models.UUIDField(null=True, blank=True)  # one project, or the whole organization
    with_vectors = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="exportjob_org_recent"),
            models.Index(fields=["expires_at"], name="exportjob_expiry"),
        ]

    def __str__(self) -> str:
        return f"export {self.id} ({self.status})"


class ImportJob(models.Model):
    """An import file an owner uploaded: kept in PORTABILITY_DIR until its task has run
    it, then deleted; the outcome (counts, or the errors with their line numbers) stays."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_name = models.CharField(max_length=200, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    created = models.JSONField(default=dict, blank=True)  # rows made, by kind
    skipped = models.IntegerField(default=0)  # rows an earlier import of the file already made
    errors = models.JSONField(default=list, blank=True)  # [{"line": n, "message": ...}]
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="importjob_org_recent")]

    def __str__(self) -> str:
        return f"import {self.id} ({self.status})"
