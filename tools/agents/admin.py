from django.contrib import admin

from billing.admin import RecountsUsage
from orchestra.admin import TenantAdmin
from tools.agents.models import Agent


@admin.register(Agent)
class AgentAdmin(RecountsUsage, TenantAdmin):  # admin edits keep plan usage true
    list_display = ("name", "slug", "organization", "project", "role", "memory_scope", "status", "deleted_at")
    list_filter = ("status", "memory_scope", ("deleted_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "slug", "role", "organization__slug", "project__slug")
    list_select_related = ("organization", "project")
    readonly_fields = ("organization", "created_at", "updated_at")
