from django.contrib import admin

from billing.admin import RecountsUsage
from memory.models import Memory
from orchestra.admin import TenantAdmin


@admin.register(Memory)
class MemoryAdmin(RecountsUsage, TenantAdmin):  # admin edits keep plan usage true
    list_display = (
        "short_content",
        "organization",
        "scope",
        "project",
        "agent",
        "embedding_status",
        "importance",
        "archived",
        "created_at",
    )
    list_filter = ("scope", "embedding_status", "archived", "importance", "created_at")
    search_fields = ("content", "organization__slug", "project__slug", "agent__slug")
    list_select_related = ("organization", "project", "agent")
    # Vectors and search vectors are never shown (nor parsed for a page).
    exclude = ("embedding", "search_vector")
    readonly_fields = ("organization", "content_hash", "embedding_model", "embedding_error", "author", "created_at")

    @admin.display(description="content")
    def short_content(self, memory: Memory) -> str:
        return memory.content[:80]
