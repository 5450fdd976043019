from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel


class MemoryScope(models.TextChoices):
    PRIVATE = "private"
    PROJECT = "project"
    ORGANIZATION = "organization"


class AgentStatus(models.TextChoices):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Agent(TenantModel):
    """An AI agent of the team. Soft-deleted agents keep their history."""

    PROJECT_PATHS = ("project_id",)
    ORGANIZATION_LEVEL_READABLE = True

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, allow_unicode=True)
    role = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    skills = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    memory_scope = models.CharField(max_length=12, choices=MemoryScope.choices, default=MemoryScope.PRIVATE)
    model = models.CharField(max_length=120, blank=True)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="agents"
    )
    status = models.CharField(max_length=10, choices=AgentStatus.choices, default=AgentStatus.ACTIVE)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"],
                condition=models.Q(deleted_at__isnull=True),
                name="agent_slug_per_org",
            )
        ]
        # list_agents: live agents of the organization or of one project, newest first.
        indexes = [
            models.Index(
                fields=["organization", "-created_at", "-id"],
                condition=models.Q(deleted_at__isnull=True),
                name="agent_org_list",
            ),
            models.Index(
                fields=["organization", "project", "-created_at"],
                condition=models.Q(deleted_at__isnull=True),
                name="agent_org_project",
            ),
        ]

    def __str__(self) -> str:
        return self.name
