"""Operators read the audit trail and the deleted organizations here; nobody edits them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent, DeletedOrganization
from orchestra.admin import TenantAdmin


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly, TenantAdmin):
    list_display = ("created_at", "organization", "action", "actor_label", "target", "ip_address")
    list_filter = ("action", "created_at")
    search_fields = ("actor_label", "target", "organization__slug", "ip_address")
    list_select_related = ("organization",)
    date_hierarchy = "created_at"


@admin.register(DeletedOrganization)
class DeletedOrganizationAdmin(ReadOnly):
    list_display = ("name", "slug", "deleted_by", "deleted_at", "purged_at", "reason")
    list_filter = ("deleted_at", ("purged_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "slug", "deleted_by", "id")
