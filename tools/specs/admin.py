from django.contrib import admin
from django.http import HttpRequest

from orchestra.admin import TenantAdmin
from tools.specs.models import Spec, SpecVersion


@admin.register(Spec)
class SpecAdmin(TenantAdmin):
    list_display = ("title", "slug", "organization", "project", "status", "version", "created_at", "updated_at")
    list_filter = ("status", "created_at", "updated_at")
    search_fields = ("title", "slug", "organization__slug", "project__slug")
    list_select_related = ("organization", "project")
    readonly_fields = ("organization", "project", "version", "created_by", "created_at", "updated_at")


@admin.register(SpecVersion)
class SpecVersionAdmin(TenantAdmin):
    list_display = ("spec", "number", "title", "author", "agent", "organization", "created_at")
    list_filter = ("created_at",)
    search_fields = ("title", "spec__slug", "change_note", "organization__slug")
    list_select_related = ("organization", "spec", "author", "agent")
    readonly_fields = ("organization", "spec", "number", "title", "author", "agent", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # versions are immutable
