"""Specs: markdown documents whose every change of title or content is a new, immutable
version. The spec row carries the current title, status and version number; contents
live only in versions."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel

MAX_CONTENT_BYTES = 256 * 1024


class SpecStatus(models.TextChoices):
    DRAFT = "draft"
    REVIEW = "review"
    APPROVED = "approved"
    ARCHIVED = "archived"


class Spec(TenantModel):
    PROJECT_PATHS = ("project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="specs")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, allow_unicode=True)
    status = models.CharField(max_length=10, choices=SpecStatus.choices, default=SpecStatus.DRAFT)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="spec_slug_per_org")]
        indexes = [
            models.Index(fields=["organization", "project", "-created_at", "-id"], name="spec_org_project"),
            models.Index(fields=["organization", "project", "status", "-created_at"], name="spec_org_project_status"),
        ]

    def __str__(self) -> str:
        return self.title


class SpecVersion(TenantModel):
    """One version of a spec. Never updated: `save` refuses to, and a database trigger
    (migration 0002) refuses any UPDATE except the foreign keys' SET NULL when the
    author or agent is deleted."""

    PROJECT_PATHS = ("spec__project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    spec = models.ForeignKey(Spec, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    content = models.TextField(blank=True)
    change_note = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["spec", "number"], name="spec_version_number")]
        indexes = [models.Index(fields=["organization", "spec", "-number"], name="spec_version_feed")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("spec versions are immutable: update_spec writes a new version")
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.spec_id} v{self.number}"
