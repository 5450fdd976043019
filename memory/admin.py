from django.contrib import admin

from memory.models import Memory
from orchestra.admin import TenantAdmin


@admin.register(Memory)
class MemoryAdmin(TenantAdmin):
    list_display = (
        "short_content",
        "organization",
        "scope",
        "embedding_status",
        "importance",
        "archived",
        "created_at",
    )
    list_filter = ("scope", "embedding_status", "archived", "created_at")
    search_fields = ("content", "organization__slug")
    exclude = ("embedding", "search_vector")
    readonly_fields = ("organization", "content_hash", "embedding_model", "embedding_error", "author", "created_at")

    @admin.display(description="content")
    def short_content(self, memory: Memory) -> str:
        return memory.content[:80]
