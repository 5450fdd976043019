from django.apps import AppConfig


class SpecsConfig(AppConfig):
    name = "tools.specs"
    label = "specs"
    default_auto_field = "django.db.models.BigAutoField"
