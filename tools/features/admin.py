from django.contrib import admin
from django.http import HttpRequest

from orchestra.admin import TenantAdmin
from tools.features.models import Feature, GateTransition, Review


@admin.register(Feature)
class FeatureAdmin(TenantAdmin):
    list_display = ("title", "slug", "organization", "project", "workflow", "gate", "status", "created_at")
    list_filter = ("status", "workflow", "gate", "created_at")
    search_fields = ("title", "slug", "organization__slug", "project__slug")
    list_select_related = ("organization", "project")
    readonly_fields = ("organization", "project", "created_by", "created_at", "updated_at", "completed_at")


@admin.register(GateTransition)
class GateTransitionAdmin(TenantAdmin):
    list_display = ("feature", "from_gate", "to_gate", "user", "organization", "created_at")
    list_filter = ("to_gate", "created_at")
    search_fields = ("feature__title", "feature__slug", "organization__slug")
    list_select_related = ("organization", "feature", "user")
    readonly_fields = ("organization", "feature", "from_gate", "to_gate", "user", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # history is never edited


@admin.register(Review)
class ReviewAdmin(TenantAdmin):
    list_display = ("feature", "gate", "verdict", "reviewer", "agent", "organization", "created_at")
    list_filter = ("verdict", "gate", "created_at")
    search_fields = ("feature__title", "feature__slug", "comments", "organization__slug", "reviewer__email")
    list_select_related = ("organization", "feature", "reviewer", "agent")
    readonly_fields = ("organization", "feature", "gate", "verdict", "reviewer", "agent", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # reviews are history: never edited
