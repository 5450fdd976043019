"""Forms of the task actions. Their bounds are the task tools' (tools/tasks/tools.py):
a person can write exactly what an agent can, and nothing larger reaches a service."""

from __future__ import annotations

from typing import Any

from django import forms

from dashboard.workplace.board import (
    PRIORITY_CHOICES,
    STATUS_CHOICES,
    assignee_choices,
    assignee_field,
    assignee_value,
    resolve_assignee,
)
from orchestra.errors import NotFound
from tools.tasks import services
from tools.tasks.models import LIVE, Task, TaskPriority
from tools.tasks.selectors import Assignee, tasks_get

TITLE_MAX = 300
DESCRIPTION_MAX = 20_000
NOTES_MAX = 20_000
LABEL_MAX = 50
REASON_MAX = 500
# The blocker menu lists a project's tasks, newest first, up to this many.
BLOCKER_CHOICES_LIMIT = 200


class TaskForm(forms.Form):
    """Create or edit a task: title, description, priority, assignee, due date, labels,
    and the tasks it waits for (of the same project)."""

    title = forms.CharField(max_length=TITLE_MAX, label="Title", strip=True)
    description = forms.CharField(
        max_length=DESCRIPTION_MAX,
        required=False,
        label="Description",
        help_text="Markdown.",
        widget=forms.Textarea(attrs={"rows": 8}),
        strip=False,
    )
    priority = forms.ChoiceField(choices=PRIORITY_CHOICES, initial=TaskPriority.MEDIUM, label="Priority")
    assignee = assignee_field()
    due_date = forms.DateField(required=False, label="Due date", widget=forms.DateInput(attrs={"type": "date"}))
    labels = forms.CharField(
        required=False,
        # Room for MAX_LABELS labels of LABEL_MAX characters and their commas.
        max_length=services.MAX_LABELS * (LABEL_MAX + 2),
        label="Labels",
        help_text=f"Separated by commas; at most {services.MAX_LABELS}, each up to {LABEL_MAX} characters.",
    )
    blocked_by = forms.MultipleChoiceField(
        required=False,
        label="Waits for",
        help_text=f"Tasks of this project to finish first (at most {services.MAX_BLOCKERS}).",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    def __init__(self, *args: Any, organization: Any, project: Any, task: Task | None = None, **kwargs: Any) -> None:
        if task is not None and not args and "data" not in kwargs:
            kwargs["initial"] = {
                "title": task.title,
                "description": task.description,
                "priority": task.priority,
                "assignee": assignee_value(task),
                "due_date": task.due_date,
                "labels": ", ".join(task.labels),
                "blocked_by": [str(pk) for pk in task.blocked_by.filter(LIVE).values_list("pk", flat=True)],
            }
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.organization, self.project, self.task = organization, project, task
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        assignee.choices = [("", "Nobody"), *assignee_choices(organization, keep=task)]
        candidates = Task.objects.filter(LIVE, project=project).order_by("-created_at", "-id")
        if task is not None:
            candidates = candidates.exclude(pk=task.pk)
        blocked_by = self.fields["blocked_by"]
        assert isinstance(blocked_by, forms.MultipleChoiceField)
        blocked_by.choices = [
            (str(pk), title[:80]) for pk, title in candidates.values_list("pk", "title")[:BLOCKER_CHOICES_LIMIT]
        ]

    def clean_title(self) -> str:
        title = str(self.cleaned_data["title"]).strip()
        if not title:
            raise forms.ValidationError("Give the task a title.")
        return title

    def clean_assignee(self) -> Assignee | None:
        ref = (self.cleaned_data.get("assignee") or "").strip()
        return resolve_assignee(ref, self.organization) if ref else None

    def clean_labels(self) -> list[str]:
        labels = [label.strip() for label in str(self.cleaned_data.get("labels") or "").split(",") if label.strip()]
        if too_long := [label for label in labels if len(label) > LABEL_MAX]:
            raise forms.ValidationError(f"A label has at most {LABEL_MAX} characters: “{too_long[0][:60]}…” is longer.")
        if len({label.lower() for label in labels}) > services.MAX_LABELS:
            raise forms.ValidationError(f"At most {services.MAX_LABELS} labels.")
        return labels

    def clean_blocked_by(self) -> list[Task]:
        refs = self.cleaned_data.get("blocked_by") or []
        if len(refs) > services.MAX_BLOCKERS:
            raise forms.ValidationError(f"A task waits for at most {services.MAX_BLOCKERS} others.")
        try:
            return tasks_get(refs, argument="blocked_by")
        except NotFound as exc:
            raise forms.ValidationError("One of these tasks no longer exists: reload the page.") from exc

    def changes(self) -> dict[str, Any]:
        """task_update's arguments for an edit: every field given, emptied ones cleared."""
        data = self.cleaned_data
        clear = [name for name in ("assignee", "due_date") if data.get(name) is None]
        return {
            "title": data["title"],
            "description": data["description"],
            "priority": data["priority"],
            "assignee": data["assignee"],
            "due_date": data["due_date"],
            "labels": data["labels"],
            "blocked_by": data["blocked_by"],
            "clear": clear,
        }


class StatusForm(forms.Form):
    """Move a task to another column (the board's drag, its keyboard menu, or the plain
    form each card carries)."""

    status = forms.ChoiceField(choices=STATUS_CHOICES, label="Move to")


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class CompleteForm(_Form):
    notes = forms.CharField(
        max_length=NOTES_MAX,
        required=False,
        label="Completion notes",
        help_text="Markdown; optional.",
        widget=forms.Textarea(attrs={"rows": 5}),
        strip=False,
    )
    close_subtasks = forms.BooleanField(required=False, label="Mark its open subtasks done too")


class DeleteForm(_Form):
    reason = forms.CharField(max_length=REASON_MAX, required=False, label="Reason", help_text="Optional.")
