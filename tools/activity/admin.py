from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orchestra.admin import TenantAdmin
from tools.activity.models import Activity


@admin.register(Activity)
class ActivityAdmin(TenantAdmin):
    """The audit trail: read-only."""

    list_display = ("created_at", "type", "organization", "actor_user", "agent", "tool", "target_type", "target_id")
    list_filter = ("type", "tool", "created_at")
    search_fields = ("type", "description", "organization__slug", "actor_user__email")
    date_hierarchy = "created_at"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
