"""The audit trail: what people (not agents) did to an organization, and the record
of deleted organizations.

`AuditEvent` is a tenant row: it belongs to its organization, is read through the
organization-scoped manager, and goes when the organization goes. The agents' work
is in the activity feed (tools.activity); this is the administrative trail owners
and admins read. `DeletedOrganization` is not a tenant row: it outlives the
organization it names, for operators (docs/decisions/0020)."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from audit.actions import Action
from orchestra.ids import new_id
from orchestra.tenancy import TenantModel

ACTOR_LABEL_MAX = 254
TARGET_MAX = 300


class AuditEvent(TenantModel):
    """One administrative act: who (a person, kept as a label too, so the row still
    says who after their account is deleted), what, on what, from which address."""

    PROJECT_PATHS = ()  # organization-level: no project-restricted token reads it

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    action = models.CharField(max_length=40, choices=Action.choices)
    actor = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The actor's address when it happened, or who else acted ("Stripe", "operator ...").
    actor_label = models.CharField(max_length=ACTOR_LABEL_MAX)
    target = models.CharField(max_length=TARGET_MAX, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="audit_org_created"),
            models.Index(fields=["organization", "action", "-created_at"], name="audit_org_action"),
            models.Index(fields=["created_at"], name="audit_created"),  # retention purge
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label}"


class DeletedOrganization(models.Model):
    """An organization that was deleted: kept after all its rows are gone, so operators
    can tell that, when and by whom it happened."""

    id = models.UUIDField(primary_key=True, editable=False)  # the organization's own id
    name = models.CharField(max_length=120)
    slug = models.CharField(max_length=80)
    deleted_by = models.CharField(max_length=ACTOR_LABEL_MAX)
    reason = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    deleted_at = models.DateTimeField(default=timezone.now)
    # When the background removal finished (None while rows remain).
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-deleted_at"], name="deleted_org_when")]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"
