from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from orchestra.admin import TenantAdmin
from tools.decisions.models import Decision, DecisionComment


@admin.register(Decision)
class DecisionAdmin(TenantAdmin):
    list_display = ("title", "organization", "project", "status", "embedding_status", "created_at", "updated_at")
    list_filter = ("status", "embedding_status", "created_at")
    search_fields = ("title", "decision", "organization__slug", "project__slug")
    list_select_related = ("organization", "project")
    exclude = ("embedding", "search_vector")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("project")

    # The searched text is fixed once logged (its embedding and hash depend on it).
    readonly_fields = (
        "organization",
        "title",
        "decision",
        "rationale",
        "context",
        "supersedes",
        "content_hash",
        "embedding_model",
        "embedding_error",
        "author",
        "created_at",
        "updated_at",
    )


@admin.register(DecisionComment)
class DecisionCommentAdmin(TenantAdmin):
    list_display = ("short_text", "decision", "organization", "author", "agent", "created_at")
    list_filter = ("created_at",)
    search_fields = ("text", "decision__title", "organization__slug")
    list_select_related = ("organization", "decision", "author", "agent")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("decision", "author", "agent")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Discussion entries are append-only, also for operators.
        return False

    @admin.display(description="text")
    def short_text(self, comment: DecisionComment) -> str:
        return comment.text[:80]
