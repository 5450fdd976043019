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


class TallyKind(models.TextChoices):
    TASKS = "tasks"  # bucket: a status; live tasks only (not soft-deleted)
    MEMORIES = "memories"  # buckets: "active" and "archived" (disjoint, as statuses are)


class ProjectTally(TenantModel):
    """How many of a project's tasks (by status) and memories there are, kept by the
    database itself: statement triggers on tasks_task and memory_memory add each
    statement's change in the same transaction (migration projects.0004, decision 0026),
    so every path that writes rows (tools, the admin, an import, a bulk update, a
    cascade) keeps it true, and get_project reads a few rows instead of counting a
    project's hundred thousand. A bucket that reaches zero loses its row."""

    PROJECT_PATHS = ("project",)

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=TallyKind.choices)
    bucket = models.CharField(max_length=20)
    n = models.BigIntegerField()

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["project", "kind", "bucket"], name="one_tally_per_bucket")]
        # The triggers delete rows that reach zero; this index (empty between
        # statements) finds them without a scan.
        indexes = [models.Index(fields=["n"], condition=models.Q(n__lte=0), name="tally_spent")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind} {self.bucket}: {self.n}"
