from django.contrib import admin

from orchestra.admin import TenantAdmin
from tools.notes.models import Note


@admin.register(Note)
class NoteAdmin(TenantAdmin):
    list_display = ("title", "organization", "project", "author", "created_at", "updated_at", "deleted_at")
    list_filter = ("created_at", "updated_at", "deleted_at")
    search_fields = ("title", "content", "organization__slug")
    exclude = ("search_vector",)
    readonly_fields = ("organization", "author", "deleted_by", "created_at", "updated_at", "deleted_at")
