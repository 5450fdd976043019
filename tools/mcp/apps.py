from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class McpConfig(AppConfig):
    name = "tools.mcp"
    label = "mcp"
    verbose_name = "MCP"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each domain app declares its tools in a `tools` module; importing it
        # registers them. Fixture tools for tests register only when enabled.
        autodiscover_modules("tools")
        from django.conf import settings

        if settings.MCP_TEST_TOOLS:
            import tools.mcp.fixture_tools  # noqa: F401
