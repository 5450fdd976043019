from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel


class WorkSessionStatus(models.TextChoices):
    ACTIVE = "active"
    ENDED = "ended"


class WorkSession(TenantModel):
    """What `create_session` makes for an agent: a unit of work that can be resumed.
    (Not to be confused with McpSession, the transport session.)"""

    PROJECT_PATHS = ("project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    title = models.CharField(max_length=200)
    goals = models.JSONField(default=list, blank=True)
    context = models.TextField(blank=True)
    state = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=WorkSessionStatus.choices, default=WorkSessionStatus.ACTIVE)
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="work_sessions"
    )
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="work_sessions"
    )
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["organization", "status", "-created_at"], name="worksession_org_status"),
            # list_sessions: the calling user's sessions (default) or one agent's.
            models.Index(fields=["organization", "user", "-created_at"], name="worksession_org_user"),
            models.Index(fields=["organization", "agent", "-created_at"], name="worksession_org_agent"),
        ]

    def __str__(self) -> str:
        return self.title
