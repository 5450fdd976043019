from django.apps import AppConfig


class OrchestraConfig(AppConfig):
    """The project package as an app: it holds the operator commands (serve, migrate --seed)."""

    name = "orchestra"
    verbose_name = "Orchestra"
