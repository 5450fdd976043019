from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from orchestra.admin import TenantAdmin
from tools.tasks.models import Task, TaskDependency


@admin.register(Task)
class TaskAdmin(TenantAdmin):
    list_display = ("title", "project", "organization", "status", "priority", "due_date", "created_at", "deleted_at")
    list_filter = ("status", "priority", "created_at", "deleted_at")
    search_fields = ("title", "project__slug", "organization__slug")
    readonly_fields = (
        "organization",
        "project",
        "parent",
        "created_by",
        "started_at",
        "completed_at",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted_by",
    )

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return super().get_queryset(request).select_related("project")


@admin.register(TaskDependency)
class TaskDependencyAdmin(TenantAdmin):
    list_display = ("task", "blocker", "organization", "created_at")
    list_filter = ("created_at",)
    search_fields = ("task__title", "blocker__title", "organization__slug")
    readonly_fields = ("organization", "task", "blocker", "created_at")
