from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from billing.admin import RecountsUsage
from orchestra.admin import TenantAdmin
from tools.tasks.models import Task, TaskDependency


@admin.register(Task)
class TaskAdmin(RecountsUsage, TenantAdmin):  # admin edits keep plan usage true
    list_display = (
        "title",
        "project",
        "organization",
        "status",
        "priority",
        "assignee",
        "due_date",
        "created_at",
        "deleted_at",
    )
    list_filter = ("status", "priority", ("deleted_at", admin.EmptyFieldListFilter), "created_at", "due_date")
    search_fields = ("title", "project__slug", "organization__slug", "assignee_agent__slug", "assignee_user__email")
    list_select_related = ("organization", "project", "assignee_agent", "assignee_user")
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

    @admin.display(description="assignee")
    def assignee(self, task: Task) -> str:
        if task.assignee_agent is not None:
            return f"{task.assignee_agent.slug} (agent)"
        return task.assignee_user.email if task.assignee_user is not None else ""


@admin.register(TaskDependency)
class TaskDependencyAdmin(TenantAdmin):
    list_display = ("task", "blocker", "organization", "created_at")
    list_filter = ("created_at",)
    search_fields = ("task__title", "blocker__title", "organization__slug")
    list_select_related = ("organization", "task", "blocker")
    readonly_fields = ("organization", "task", "blocker", "created_at")
