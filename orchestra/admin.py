"""Admin helpers for tenant-owned models.

The admin looks across organizations, so it reads through `unscoped`; editing a row
happens inside that row's organization, so model validation (unique checks use the
default manager) sees the right tenant.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse

from orchestra.tenancy import TenantModel, tenant_scope


class TenantAdmin(admin.ModelAdmin):
    list_select_related: ClassVar[bool | tuple[str, ...] | list[str]] = ("organization",)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return self.model.unscoped.select_related("organization")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rows are created by agents and people in their organization, not by operators.
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.remote_field.model
        if isinstance(related, type) and issubclass(related, TenantModel):
            kwargs["queryset"] = related.unscoped.all()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id) if object_id else None
        if obj is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        with tenant_scope(obj.organization_id):
            return super().changeform_view(request, object_id, form_url, extra_context)


class ReadOnly(admin.ModelAdmin):
    """Rows operators read and nobody edits (an audit trail, counts the database keeps)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
