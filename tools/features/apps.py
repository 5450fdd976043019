from django.apps import AppConfig


class FeaturesConfig(AppConfig):
    name = "tools.features"
    label = "features"
    default_auto_field = "django.db.models.BigAutoField"
