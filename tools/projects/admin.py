from django.contrib import admin

from billing.admin import RecountsUsage
from orchestra.admin import ReadOnly, TenantAdmin
from tools.projects.models import Project, ProjectTally


@admin.register(Project)
class ProjectAdmin(RecountsUsage, TenantAdmin):  # admin edits keep plan usage true
    list_display = ("name", "slug", "organization", "status", "created_at", "updated_at")
    list_filter = ("status", "created_at")
    search_fields = ("name", "slug", "description", "organization__slug", "organization__name")
    readonly_fields = ("organization", "created_by", "created_at", "updated_at", "archived_at")


@admin.register(ProjectTally)
class ProjectTallyAdmin(ReadOnly, TenantAdmin):
    """Read-only: the database's triggers keep these (migration projects.0004)."""

    list_display = ("project", "organization", "kind", "bucket", "n")
    list_filter = ("kind", "bucket")
    search_fields = ("project__name", "project__slug", "organization__slug", "organization__name")
    list_select_related = ("organization", "project")
    readonly_fields = ("organization", "project", "kind", "bucket", "n")
