"""Operators read the audit trail and the deleted organizations here; nobody edits them."""

from __future__ import annotations

from django.contrib import admin

from audit.models import AuditEvent, DeletedOrganization
from orchestra.admin import ReadOnly, TenantAdmin


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
