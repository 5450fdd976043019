from django.contrib import admin

from portability.models import ExportJob, ImportedRow, ImportJob


@admin.register(ImportedRow)
class ImportedRowAdmin(admin.ModelAdmin):
    list_display = ("organization", "kind", "source_id", "target_id", "created_at")
    list_filter = ("kind",)
    search_fields = ("source_id", "target_id", "organization__slug")
    readonly_fields = ("organization", "kind", "source_id", "target_id", "created_at")


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "organization", "status", "size_bytes", "created_at", "expires_at")
    list_filter = ("status", "with_vectors")
    search_fields = ("id", "organization__slug")
    readonly_fields = ("counts", "error")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "organization", "status", "dry_run", "size_bytes", "created_at")
    list_filter = ("status", "dry_run")
    search_fields = ("id", "organization__slug", "original_name")
    readonly_fields = ("created", "errors")
