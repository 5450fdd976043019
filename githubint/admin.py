from django.contrib import admin
from django.http import HttpRequest

from githubint.models import GitHubConnection, Repository, WebhookDelivery
from orchestra.admin import TenantAdmin


@admin.register(GitHubConnection)
class GitHubConnectionAdmin(TenantAdmin):
    list_display = ("organization", "kind", "status", "account_login", "installation_id", "token_last4", "created_at")
    list_filter = ("kind", "status", "created_at")
    search_fields = ("account_login", "organization__slug", "installation_id")
    list_select_related = ("organization", "connected_by")
    # The encrypted token is never shown, not even encrypted.
    exclude = ("token_encrypted",)
    readonly_fields = ("organization", "kind", "installation_id", "token_last4", "connected_by", "created_at")


@admin.register(Repository)
class RepositoryAdmin(TenantAdmin):
    list_display = ("full_name", "project", "organization", "sync_status", "last_synced_at", "default_branch")
    list_filter = ("sync_status", "private", "last_synced_at")
    search_fields = ("full_name", "project__slug", "organization__slug")
    list_select_related = ("organization", "project")
    readonly_fields = (
        "organization",
        "project",
        "github_id",
        "branches",
        "languages",
        "open_pull_requests",
        "latest_commits",
        "last_synced_at",
        "connected_by",
        "created_at",
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("delivery_id", "event", "action", "installation_id", "status", "attempts", "received_at")
    list_filter = ("status", "event", "received_at")
    search_fields = ("delivery_id", "event", "installation_id")
    exclude = ("payload",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
