from django.apps import AppConfig


class WorksessionsConfig(AppConfig):
    name = "tools.worksessions"
    label = "worksessions"
    default_auto_field = "django.db.models.BigAutoField"
