from django.contrib import admin

from orchestra.admin import TenantAdmin
from tools.worksessions.models import WorkSession


@admin.register(WorkSession)
class WorkSessionAdmin(TenantAdmin):
    list_display = ("title", "organization", "agent", "project", "status", "created_at", "ended_at")
    list_filter = ("status", "created_at")
    search_fields = ("title", "organization__slug")
    readonly_fields = ("organization", "user", "created_at", "updated_at", "ended_at")
