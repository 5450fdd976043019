"""One task: its description, dependencies, subtasks and history."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse

from dashboard.context import organization_required
from dashboard.workplace.board import STATUS_CHOICES
from dashboard.workplace.common import or_404, page
from tools.tasks.selectors import task_dependencies, task_get, task_history, task_subtasks


@organization_required
def task_detail(request: HttpRequest, ref: str) -> HttpResponse:
    task = or_404(task_get, ref)
    prefetch_related_objects([task], "project", "assignee_agent", "assignee_user", "parent")
    history = task_history(task)
    prefetch_related_objects(history, "actor_user", "agent", "project")
    return page(
        request,
        "web/dashboard/tasks/detail.html",
        "projects",
        {
            "task": task,
            "project": task.project,
            # A soft-deleted parent is gone from every read.
            "parent": task.parent if task.parent is not None and task.parent.deleted_at is None else None,
            "dependencies": task_dependencies(task),
            "subtasks": task_subtasks(task),
            "history": history,
            "status_choices": STATUS_CHOICES,
        },
    )
