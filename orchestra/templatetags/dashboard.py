"""Small helpers of the dashboard's templates (`{% load dashboard %}`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

# The dashboard page of a row, by its kind (activity_record's target_type, a note link's type).
ROW_PAGES = {
    "project": "web:project",
    "task": "web:task",
    "decision": "web:decision",
    "spec": "web:spec",
    "feature": "web:feature",
    "note": "web:note",
    "memory": "web:memory",
}


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now", "5 minutes ago", "2 days, 3 hours ago"."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def target_url(activity: Any) -> str:
    """The dashboard page of an activity's target, or "" when it has none (or the row
    says the target was deleted: its page would be a 404)."""
    name = ROW_PAGES.get(activity.target_type)
    if name is None or activity.target_id is None or activity.type.endswith(".deleted"):
        return ""
    try:
        return reverse(name, args=[activity.target_id])
    except NoReverseMatch:
        return ""


@register.filter
def actor(activity: Any) -> str:
    """Who did it: the agent (for its user), else the user."""
    user = activity.actor_user
    who = (user.name or user.email) if user is not None else ""
    if activity.agent is not None:
        return f"{activity.agent.name} ({who})" if who else activity.agent.name
    if who:
        return who
    # No person: the system acted, or the person's account was deleted since.
    return "system" if activity.tool == "system" else DELETED_USER


# Shown where a row's author was a person whose account is deleted (the foreign key
# to them is SET_NULL, accounts.deletion).
DELETED_USER = "deleted user"


@register.filter
def person(user: Any) -> str:
    """A person's name, else their address; "deleted user" once their account is gone."""
    if user is None:
        return DELETED_USER
    return str(user.name or user.email)


@register.filter
def percent(part: int, whole: int) -> int:
    """part of whole, in whole percent (0 when whole is 0)."""
    return round(100 * part / whole) if whole else 0


@register.simple_tag(takes_context=True)
def query(context: Any, **changes: Any) -> str:
    """The current query string with `changes` applied (None or "" removes a key), e.g.
    for a next-page link that keeps the filters."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def detail_pairs(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An audit row's details as (key, text) pairs for people: empty values left out,
    lists read as comma-separated words rather than Python's brackets and quotes."""
    pairs = []
    for key, value in (details or {}).items():
        if value is None or value == "" or value == []:
            continue
        text = ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)
        pairs.append((str(key), text))
    return pairs
