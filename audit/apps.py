from django.apps import AppConfig


class AuditConfig(AppConfig):
    """What people did: the organization's audit trail, and the record of deleted
    organizations that outlives them."""

    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import signals  # noqa: F401  (sign-ins)
