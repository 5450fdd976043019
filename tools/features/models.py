"""Features moving through a workflow of gates; gate moves and reviews are history."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel


class FeatureStatus(models.TextChoices):
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Verdict(models.TextChoices):
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENT = "comment"


class Feature(TenantModel):
    """A feature of a project. `gates` is the workflow it was created with (a copy, so
    later changes to named workflows never move a feature): a list of
    `{"name": slug, "review": bool}`. `gate` is the current gate's name, kept beside
    `gate_index` so that lists can filter on it with an index."""

    PROJECT_PATHS = ("project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="features")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, allow_unicode=True)
    description = models.TextField(blank=True)
    workflow = models.CharField(max_length=40)
    gates = models.JSONField()
    gate_index = models.PositiveSmallIntegerField(default=0)
    gate = models.CharField(max_length=30)
    status = models.CharField(max_length=12, choices=FeatureStatus.choices, default=FeatureStatus.IN_PROGRESS)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="feature_slug_per_org")]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="feature_org_feed"),
            models.Index(fields=["organization", "project", "-created_at"], name="feature_org_project"),
            models.Index(fields=["organization", "status", "gate", "-created_at"], name="feature_org_status_gate"),
        ]

    def __str__(self) -> str:
        return self.title


class GateTransition(TenantModel):
    """One gate move (the first row, with no from_gate, is the feature's start)."""

    PROJECT_PATHS = ("feature__project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="transitions")
    from_gate = models.CharField(max_length=30, blank=True)
    to_gate = models.CharField(max_length=30)
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["organization", "feature", "created_at"], name="feature_transition_feed")]

    def __str__(self) -> str:
        return f"{self.from_gate or '(start)'} -> {self.to_gate}"


class Review(TenantModel):
    """A verdict on a feature's gate by a reviewer: the user, and the agent if one was
    named. Reviews are never edited; a later review supersedes an earlier one."""

    PROJECT_PATHS = ("feature__project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="reviews")
    gate = models.CharField(max_length=30)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    comments = models.TextField(blank=True)
    reviewer = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["organization", "feature", "-created_at"], name="feature_review_feed"),
            models.Index(fields=["organization", "feature", "gate"], name="feature_review_gate"),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} on {self.gate}"
