"""The audit page's filters (GET), shared by the page and its download."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms

from audit.actions import Action
from dashboard.workplace.common import FilterForm, choice_field

# A date range is a few years at most: wider ranges are refused, not silently cut.
MAX_RANGE = timedelta(days=3660)
FORMATS = {"csv": "CSV", "jsonl": "JSON Lines"}


class AuditFilters(FilterForm):
    action = choice_field("Action", [(a.value, a.label) for a in Action], everything="All actions")
    person = forms.CharField(required=False, max_length=254, label="Person", help_text="Address, or part of it")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since: date | None = cleaned.get("since")
        until: date | None = cleaned.get("until")
        if since and until:
            if since > until:
                self.add_error("until", "the end date is before the start date")
            elif until - since > MAX_RANGE:
                self.add_error("until", "pick a range of ten years at most")
        return cleaned

    def selector_kwargs(self) -> dict[str, Any]:
        data = self.filters()
        return {
            "action": data["action"],
            "actor": data["person"].strip(),
            "since": data["since"],
            "until": data["until"],
        }
