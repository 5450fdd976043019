"""Notes: markdown written by agents and people, with tags and links, found by words."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel

MAX_CONTENT_BYTES = 64 * 1024
LIVE = models.Q(deleted_at__isnull=True)


class Note(TenantModel):
    """A markdown note. `links` is a list whose items are http(s) URLs (strings) or
    row references `{"type": ..., "id": ...}`. Soft-deleted notes keep their row."""

    PROJECT_PATHS = ("project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    title = models.CharField(max_length=200)
    content = models.TextField(blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    links = models.JSONField(default=list, blank=True)
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Kept by PostgreSQL itself; a title word weighs more than a content word.
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("content", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    author = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(TenantModel.Meta):
        indexes = [
            GinIndex(fields=["search_vector"], name="note_search_gin"),
            GinIndex(fields=["tags"], name="note_tags_gin"),
            models.Index(fields=["organization", "-created_at", "-id"], condition=LIVE, name="note_org_live"),
            models.Index(fields=["organization", "project", "-created_at"], condition=LIVE, name="note_org_project"),
            models.Index(fields=["organization", "updated_at"], condition=LIVE, name="note_org_updated"),
        ]

    def __str__(self) -> str:
        return self.title
