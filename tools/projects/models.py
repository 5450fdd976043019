from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel


class ProjectStatus(models.TextChoices):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Project(TenantModel):
    PROJECT_PATHS = ("pk",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, allow_unicode=True)
    description = models.TextField(blank=True)
    settings = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ProjectStatus.choices, default=ProjectStatus.ACTIVE)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="project_slug_per_org")]
        indexes = [models.Index(fields=["organization", "status", "-created_at"], name="project_org_status")]

    def __str__(self) -> str:
        return self.name
