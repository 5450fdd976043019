from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orchestra.admin import TenantAdmin
from tools.activity.models import Activity


@admin.register(Activity)
class ActivityAdmin(TenantAdmin):
    """The audit trail: read-only."""

    list_display = ("created_at", "type", "short_description", "organization", "project", "actor_user", "agent", "tool")
    list_filter = ("type", "tool", "target_type", "created_at")
    search_fields = ("type", "description", "tool", "organization__slug", "actor_user__email", "agent__slug")
    list_select_related = ("organization", "project", "actor_user", "agent")
    date_hierarchy = "created_at"

    @admin.display(description="description")
    def short_description(self, activity: Activity) -> str:
        return activity.description[:80]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
