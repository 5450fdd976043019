from django.contrib import admin

from tools.mcp.models import IdempotentCall, McpSession


@admin.register(McpSession)
class McpSessionAdmin(admin.ModelAdmin):
    list_display = ("short_id", "token", "protocol_version", "initialized", "created_at", "last_seen_at", "closed_at")
    list_filter = ("protocol_version", "initialized", ("closed_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("id", "token__name", "token__last_four", "token__organization__slug", "token__user__email")
    list_select_related = ("token",)
    readonly_fields = ("token", "protocol_version", "client_info", "client_capabilities", "created_at", "last_seen_at")
    exclude = ("id",)

    @admin.display(description="session")
    def short_id(self, session: McpSession) -> str:
        return f"{session.id[:8]}…"

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(IdempotentCall)
class IdempotentCallAdmin(admin.ModelAdmin):
    """Read-only: the first answers of create calls made with an idempotency key (24 h)."""

    list_display = ("key", "tool", "organization", "scope", "created_at")
    list_filter = ("tool", "created_at")
    search_fields = ("key", "tool", "organization__slug")
    list_select_related = ("organization",)
    readonly_fields = ("organization", "scope", "key", "tool", "arguments_digest", "answer", "created_at")

    def has_add_permission(self, request: object) -> bool:
        return False
