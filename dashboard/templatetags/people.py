"""`{% setup_banner %}`: "Finish setting up" while onboarding steps remain; `|ago`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from accounts import onboarding

register = template.Library()

STEP_URLS = {onboarding.INVITE: "web:onboarding-invite", onboarding.TOKEN: "web:onboarding-token"}


@register.inclusion_tag("web/people/_setup_banner.html", takes_context=True)
def setup_banner(context: dict[str, Any]) -> dict[str, Any]:
    membership = getattr(context.get("request"), "membership", None)
    if membership is None or onboarding.DISMISSED in membership.onboarding_skipped:
        return {"todo": []}
    steps = onboarding.onboarding_steps(membership)
    # Skipped steps still count: skipping is "not now", and the banner is "later".
    todo = [{"title": s.title, "url": reverse(STEP_URLS[s.key])} for s in steps if not s.done and s.key in STEP_URLS]
    done = len(steps) - len(todo)
    return {"todo": todo, "percent": round(100 * done / len(steps)), "csrf_token": context.get("csrf_token")}


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now", "3 hours ago", or "never"."""
    if moment is None:
        return "never"
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
