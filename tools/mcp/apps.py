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

        # Access lost anywhere (accounts) closes the matching streams in every process.
        from accounts.signals import access_lost
        from tools.mcp import control

        access_lost.connect(control.on_access_lost, dispatch_uid="mcp-access-lost")

        if settings.MCP_TEST_TOOLS:
            import tools.mcp.fixture_tools  # noqa: F401
