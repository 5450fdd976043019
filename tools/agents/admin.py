from django.contrib import admin

from orchestra.admin import TenantAdmin
from tools.agents.models import Agent


@admin.register(Agent)
class AgentAdmin(TenantAdmin):
    list_display = ("name", "slug", "organization", "role", "memory_scope", "status", "deleted_at")
    list_filter = ("status", "memory_scope")
    search_fields = ("name", "slug", "organization__slug")
    readonly_fields = ("organization", "created_at", "updated_at")
