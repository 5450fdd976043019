"""People change tasks: create, edit, move (drag, keyboard or plain form), complete and
delete, through the services the task tools call (same transaction, same checks, same
plan limits), their activity rows naming the person.

Owners, admins and members only (writer_required: a viewer's forged POST is a 403); a
task of another organization is a 404 like a missing one. Every action is a plain form
post; the board's script posts the same forms and asks for JSON back."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard.context import person_actor, writer_required
from dashboard.workplace.board import COLUMN_TITLES
from dashboard.workplace.common import or_404, page
from dashboard.workplace.task_forms import CompleteForm, DeleteForm, StatusForm, TaskForm
from orchestra.errors import Conflict, ToolError
from tools.projects.selectors import project_get
from tools.tasks import services
from tools.tasks.models import FINAL, Task, TaskStatus
from tools.tasks.selectors import open_subtree, task_get


def _back(request: HttpRequest, task: Task) -> str:
    """Where a board form returns to: its `next` (our own pages only), else the board."""
    wanted = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return reverse("web:project", args=[task.project.slug])


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _open_subtasks(exc: ToolError) -> list[dict[str, Any]]:
    return list(exc.details.get("open_subtasks") or [])


@writer_required
def task_create(request: HttpRequest, ref: str) -> HttpResponse:
    project = or_404(project_get, ref)
    kwargs = {"organization": request.organization, "project": project}  # type: ignore[attr-defined]
    form = TaskForm(request.POST, **kwargs) if request.method == "POST" else TaskForm(**kwargs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # one transaction, as a tool call is
                task = services.task_create(
                    actor=person_actor(request),
                    project=project,
                    title=data["title"],
                    description=data["description"],
                    assignee=data["assignee"],
                    priority=data["priority"],
                    labels=data["labels"],
                    due_date=data["due_date"],
                    blocked_by=data["blocked_by"],
                )
        except ToolError as exc:  # a plan limit, a blocker of another project...
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Created “{task.title}”.")
            return redirect("web:task", task.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "project": project, "task": None}
    return page(request, "web/dashboard/tasks/form.html", "projects", context, status=status)


@writer_required
def task_edit(request: HttpRequest, ref: str) -> HttpResponse:
    task = or_404(task_get, ref)
    kwargs = {"organization": request.organization, "project": task.project, "task": task}  # type: ignore[attr-defined]
    form = TaskForm(request.POST, **kwargs) if request.method == "POST" else TaskForm(**kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.task_update(actor=person_actor(request), task=task, **form.changes())
        except ToolError as exc:  # a blocker cycle, a task deleted meanwhile...
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Saved.")
            return redirect("web:task", task.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "project": task.project, "task": task}
    return page(request, "web/dashboard/tasks/form.html", "projects", context, status=status)


@require_POST
@writer_required
def task_move(request: HttpRequest, ref: str) -> HttpResponse:
    """Give a task another status. A done or cancelled task moved back is reopened; one
    moved to done is completed (refused with the list of its open subtasks, as for an
    agent, and the completion page offers to close them too)."""
    task = or_404(task_get, ref)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _move_refused(request, task, "Pick a column to move the task to.", status=400)
    target = form.cleaned_data["status"]
    actor = person_actor(request)
    try:
        with transaction.atomic():
            if target == TaskStatus.DONE and task.status != TaskStatus.DONE:
                task = services.task_complete(actor=actor, task=task)
            elif target != task.status:
                task = services.task_update(actor=actor, task=task, status=target, reopen=task.status in FINAL)
    except Conflict as exc:
        if subtasks := _open_subtasks(exc):
            return _completion_refused(request, task, CompleteForm(), exc, subtasks)
        return _move_refused(request, task, exc.message, status=exc.http_status)
    except ToolError as exc:
        return _move_refused(request, task, exc.message, status=exc.http_status)
    if _wants_json(request):
        return JsonResponse({"id": str(task.pk), "status": task.status})
    messages.success(request, f"Moved “{task.title}” to {COLUMN_TITLES[TaskStatus(task.status)]}.")
    return HttpResponseRedirect(_back(request, task))


def _move_refused(request: HttpRequest, task: Task, message: str, *, status: int) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": message}, status=status)
    messages.error(request, f"“{task.title}” was not moved: {message}")
    return HttpResponseRedirect(_back(request, task))


def _completion_refused(
    request: HttpRequest, task: Task, form: CompleteForm, exc: ToolError, subtasks: list[dict[str, Any]]
) -> HttpResponse:
    if _wants_json(request):
        url = reverse("web:task-complete", args=[task.pk])
        return JsonResponse({"error": exc.message, "open_subtasks": subtasks, "complete_url": url}, status=409)
    context = {
        "form": form,
        "task": task,
        "project": task.project,
        "subtasks": subtasks,
        "more": exc.details,
        "refusal": "This task has open subtasks: finish them first, or mark them done with it.",
    }
    return page(request, "web/dashboard/tasks/complete.html", "projects", context, status=409)


@writer_required
def task_complete(request: HttpRequest, ref: str) -> HttpResponse:
    task = or_404(task_get, ref)
    if request.method != "POST":
        subtasks = [{"id": str(t.pk), "title": t.title, "status": t.status} for t in open_subtree(task)]
        context = {"form": CompleteForm(), "task": task, "project": task.project, "subtasks": subtasks}
        return page(request, "web/dashboard/tasks/complete.html", "projects", context)
    form = CompleteForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                services.task_complete(
                    actor=person_actor(request),
                    task=task,
                    notes=data["notes"] or None,
                    close_subtasks=data["close_subtasks"],
                )
        except ToolError as exc:
            if subtasks := _open_subtasks(exc):
                return _completion_refused(request, task, form, exc, subtasks)
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Completed “{task.title}”.")
            return redirect("web:task", task.pk)
    context = {"form": form, "task": task, "project": task.project, "subtasks": []}
    return page(request, "web/dashboard/tasks/complete.html", "projects", context, status=400)


@writer_required
def task_delete(request: HttpRequest, ref: str) -> HttpResponse:
    task = or_404(task_get, ref)
    form = DeleteForm(request.POST) if request.method == "POST" else DeleteForm()
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.task_delete(actor=person_actor(request), task=task, reason=form.cleaned_data["reason"])
        except ToolError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Deleted “{task.title}”. Its history is kept.")
            return redirect("web:project", task.project.slug)
    status = 400 if request.method == "POST" else 200
    return page(
        request,
        "web/dashboard/tasks/delete.html",
        "projects",
        {"form": form, "task": task, "project": task.project},
        status=status,
    )
