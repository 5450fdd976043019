from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tools.tasks"
    label = "tasks"
    default_auto_field = "django.db.models.BigAutoField"
