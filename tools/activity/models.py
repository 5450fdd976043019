from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel


class Activity(TenantModel):
    """One row per change: who (user, agent, token), through what tool, on what target."""

    PROJECT_PATHS = ("project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    type = models.CharField(max_length=80)  # e.g. "project.created", or a custom type
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    actor_user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token = models.ForeignKey("accounts.MCPToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tool = models.CharField(max_length=80, blank=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.UUIDField(null=True, blank=True)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    session = models.ForeignKey(
        "worksessions.WorkSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="activity_feed"),
            models.Index(fields=["organization", "project", "-created_at"], name="activity_project_feed"),
            models.Index(fields=["organization", "target_id"], name="activity_target"),
            # list_activities filters (and get_agent's recent activity).
            models.Index(fields=["organization", "type", "-created_at"], name="activity_type_feed"),
            models.Index(fields=["organization", "agent", "-created_at"], name="activity_agent_feed"),
            models.Index(fields=["organization", "session", "-created_at"], name="activity_session_feed"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.target_type}:{self.target_id}"
