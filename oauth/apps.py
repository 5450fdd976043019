from django.apps import AppConfig


class OAuthConfig(AppConfig):
    """Orchestra as its own OAuth 2.1 authorization server for MCP clients
    (django-oauth-toolkit, configured; docs/decisions/0014)."""

    name = "oauth"
    label = "oauth"
    verbose_name = "OAuth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth import signals  # noqa: F401  (connects the receivers)
