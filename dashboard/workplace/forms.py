"""The forms people change the workplace with. Each bounds its inputs exactly as the
matching tool's arguments do (tools/*/tools.py), so a person can write nothing an agent
could not; the services check the rest (content bytes, transitions, gates)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from memory.models import Memory
from orchestra.errors import NotFound, ToolError
from orchestra.ids import parse_uuid
from tools.decisions.models import TRANSITIONS, Decision
from tools.features.models import Verdict
from tools.notes.models import MAX_CONTENT_BYTES as NOTE_BYTES
from tools.projects.selectors import project_get
from tools.specs.models import MAX_CONTENT_BYTES as SPEC_BYTES
from tools.specs.models import SpecStatus

# The tools' bounds (tools.mcp.args.Tags; the note, spec, decision and review tools).
TITLE_CHARS = 200
MAX_TAGS = 20
TAG_CHARS = 50
NOTE_CHARS = 65536
SPEC_CHARS = SPEC_BYTES
CHANGE_NOTE_CHARS = 500
OUTCOME_CHARS = 20_000
COMMENT_CHARS = 4000
REVIEW_CHARS = 20_000
# A preview renders what either editor may save: the larger of the two.
PREVIEW_CHARS = max(NOTE_CHARS, SPEC_CHARS)
# A pasted memory link or id: enough for a full URL, never a document.
MEMORY_REF_CHARS = 300
UUID_IN_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _textarea(rows: int, *, preview: bool = False) -> forms.Textarea:
    attrs: dict[str, Any] = {"rows": rows}
    if preview:
        # editor.js renders a live preview of the textarea marked so.
        attrs["data-markdown"] = "true"
    return forms.Textarea(attrs=attrs)


def bytes_at_most(text: str, limit: int) -> str:
    """The services' limit is in UTF-8 bytes; say so on the form, before any write."""
    if len(text.encode()) > limit:
        raise forms.ValidationError(f"At most {limit // 1024} KiB.")
    return text


class DashboardForm(forms.Form):
    """No colon after labels, like the filter forms; errors of the service go to the top."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def refuse(self, error: ToolError) -> None:
        """Show a service's refusal (bad input, a conflict) above the fields."""
        self.add_error(None, error.message)


class TagsField(forms.CharField):
    """Comma-separated tags, as create_note's `tags` list: at most 20 of 50 characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_TAGS * (TAG_CHARS + 2))
        kwargs.setdefault("help_text", "Separated by commas.")
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        tags = [t.strip() for t in text.split(",") if t.strip()]
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags.")
        long = [t for t in tags if len(t) > TAG_CHARS]
        if long:
            raise forms.ValidationError(f"A tag has at most {TAG_CHARS} characters: {long[0][:60]}")
        return tags


class PreviewMixin:
    """The editors' two buttons: Preview renders the markdown server-side (the no-JS
    path), Save writes."""

    data: Any

    def wants_preview(self) -> bool:
        return self.data.get("action") == "preview"


class NoteForm(DashboardForm, PreviewMixin):
    title = forms.CharField(max_length=TITLE_CHARS)
    content = forms.CharField(required=False, max_length=NOTE_CHARS, widget=_textarea(16, preview=True))
    tags = TagsField()

    def clean_content(self) -> str:
        return bytes_at_most(self.cleaned_data["content"], NOTE_BYTES)


class NewNoteForm(NoteForm):
    project = forms.CharField(required=False, max_length=100, widget=forms.Select)

    def __init__(self, *args: Any, projects: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].widget.choices = [("", "No project (organization-wide)"), *projects]
        self.order_fields(["title", "project", "content", "tags"])

    def clean_project(self) -> Any:
        ref = self.cleaned_data["project"]
        if not ref:
            return None
        try:
            return project_get(ref)
        except NotFound as exc:
            raise forms.ValidationError("No such project.") from exc


class SpecForm(DashboardForm, PreviewMixin):
    title = forms.CharField(max_length=TITLE_CHARS)
    status = forms.ChoiceField(choices=SpecStatus.choices)
    content = forms.CharField(required=False, max_length=SPEC_CHARS, widget=_textarea(22, preview=True))

    def clean_content(self) -> str:
        return bytes_at_most(self.cleaned_data["content"], SPEC_BYTES)


class SpecEditForm(SpecForm):
    change_note = forms.CharField(
        required=False,
        max_length=CHANGE_NOTE_CHARS,
        label="Change note",
        help_text="Why: kept with the new version.",
    )


class PreviewForm(forms.Form):
    content = forms.CharField(required=False, max_length=PREVIEW_CHARS)


class DecisionStatusForm(DashboardForm):
    """Status along the decision's allowed transitions, and its outcome."""

    status = forms.ChoiceField(required=False)
    outcome = forms.CharField(required=False, max_length=OUTCOME_CHARS, widget=_textarea(5))

    def __init__(self, *args: Any, decision: Decision, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"outcome": decision.outcome})
        super().__init__(*args, **kwargs)
        allowed = sorted(TRANSITIONS[decision.status])
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", f"Keep {decision.status}"), *((s, s.capitalize()) for s in allowed)]


class DecisionCommentForm(DashboardForm):
    comment = forms.CharField(max_length=COMMENT_CHARS, widget=_textarea(4), label="Add to the discussion")


class ReviewForm(DashboardForm):
    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect, initial=Verdict.COMMENT)
    comments = forms.CharField(
        required=False,
        max_length=REVIEW_CHARS,
        widget=_textarea(4),
        help_text="Needed unless you approve.",
    )


class SupersedeForm(DashboardForm):
    """The newer memory, by its id or a pasted link to its page."""

    by = forms.CharField(
        max_length=MEMORY_REF_CHARS,
        label="Superseded by",
        help_text="The newer memory's id, or a link to its page.",
    )

    def clean_by(self) -> Memory:
        found = UUID_IN_TEXT.findall(self.cleaned_data["by"])
        uid = parse_uuid(found[-1]) if found else None
        memory = Memory.objects.filter(pk=uid).only("id").first() if uid is not None else None
        if memory is None:
            raise forms.ValidationError("No such memory.")
        return memory
