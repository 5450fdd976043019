from django.contrib import admin

from billing.admin import RecountsUsage
from orchestra.admin import TenantAdmin
from tools.projects.models import Project


@admin.register(Project)
class ProjectAdmin(RecountsUsage, TenantAdmin):  # admin edits keep plan usage true
    list_display = ("name", "slug", "organization", "status", "created_at", "updated_at")
    list_filter = ("status", "created_at")
    search_fields = ("name", "slug", "description", "organization__slug", "organization__name")
    readonly_fields = ("organization", "created_by", "created_at", "updated_at", "archived_at")
