from django.contrib import admin

from orchestra.admin import TenantAdmin
from tools.worksessions.models import WorkSession


@admin.register(WorkSession)
class WorkSessionAdmin(TenantAdmin):
    list_display = ("title", "organization", "agent", "project", "user", "status", "created_at", "ended_at")
    list_filter = ("status", "created_at")
    search_fields = ("title", "organization__slug", "agent__slug", "project__slug", "user__email")
    list_select_related = ("organization", "agent", "project", "user")
    readonly_fields = ("organization", "user", "created_at", "updated_at", "ended_at")
