"""The toolkit registers its admin for our swapped models; operators get the same
search and filters as on every other model (and never a token: only digests exist)."""

from __future__ import annotations

from django.contrib import admin
from oauth2_provider.admin import AccessTokenAdmin, GrantAdmin, RefreshTokenAdmin

from oauth.models import AccessToken, Grant, RefreshToken

for _model in (Grant, AccessToken, RefreshToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(Grant)
class OrchestraGrantAdmin(GrantAdmin):
    list_display = ("id", "user", "application", "mcp_token", "expires")
    list_filter = ("application",)
    search_fields = ("user__email", "application__name")
    raw_id_fields = ("user", "mcp_token")


@admin.register(AccessToken)
class OrchestraAccessTokenAdmin(AccessTokenAdmin):
    list_display = ("id", "user", "application", "mcp_token", "expires")
    list_filter = ("application",)
    search_fields = ("user__email", "application__name")
    raw_id_fields = ("user", "mcp_token", "source_refresh_token", "id_token")


@admin.register(RefreshToken)
class OrchestraRefreshTokenAdmin(RefreshTokenAdmin):
    list_display = ("id", "user", "application", "mcp_token", "revoked")
    list_filter = ("application", "revoked")
    search_fields = ("user__email", "application__name")
    raw_id_fields = ("user", "mcp_token", "access_token")
