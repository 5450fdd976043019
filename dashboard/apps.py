from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The pages people use: onboarding, members, tokens, connect, and the workplace
    over every domain. The one app above all domains (docs/decisions/0012)."""

    name = "dashboard"
    default_auto_field = "django.db.models.BigAutoField"
