from django.contrib import admin

from orchestra.admin import TenantAdmin
from tools.notes.models import Note


@admin.register(Note)
class NoteAdmin(TenantAdmin):
    list_display = ("title", "organization", "project", "author", "created_at", "updated_at", "deleted_at")
    list_filter = (("deleted_at", admin.EmptyFieldListFilter), "created_at", "updated_at")
    search_fields = ("title", "content", "organization__slug", "project__slug", "author__email")
    list_select_related = ("organization", "project", "author")
    exclude = ("search_vector",)
    readonly_fields = ("organization", "author", "deleted_by", "created_at", "updated_at", "deleted_at")
