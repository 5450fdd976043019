"""The overview's trends over the last DAYS days (UTC days), read with one aggregate
query per chart whatever the organization holds: tasks opened and completed per day,
activity per agent, and the number of memories day by day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Case, CharField, Count, DateField, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from memory.models import Memory
from tools.activity.models import Activity
from tools.tasks.selectors import live_tasks

DAYS = 30
# The busiest agents shown; the rest of the organization's activity is one more bar.
AGENTS_SHOWN = 8


@dataclass(frozen=True)
class Window:
    days: list[date]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.days[0], datetime.min.time(), tzinfo=UTC)


def window(today: date | None = None, days: int = DAYS) -> Window:
    """The last `days` UTC days, today included, oldest first."""
    today = today or timezone.now().astimezone(UTC).date()
    return Window([today - timedelta(days=days - 1 - n) for n in range(days)])


def _day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=UTC)


def tasks_per_day(span: Window) -> dict[str, list[int]]:
    """{"opened": [...], "completed": [...]}: live tasks created, and completed (and
    still done), on each day of `span`. One query (two grouped halves in a UNION ALL)."""
    live = live_tasks().order_by()
    opened = (
        live.filter(created_at__gte=span.start)
        .annotate(series=Value("opened", output_field=CharField()), day=_day("created_at"))
        .values("series", "day")
        .annotate(n=Count("id"))
    )
    completed = (
        live.filter(completed_at__gte=span.start)
        .annotate(series=Value("completed", output_field=CharField()), day=_day("completed_at"))
        .values("series", "day")
        .annotate(n=Count("id"))
    )
    found: dict[tuple[str, date], int] = {(r["series"], r["day"]): r["n"] for r in opened.union(completed, all=True)}
    return {series: [found.get((series, day), 0) for day in span.days] for series in ("opened", "completed")}


@dataclass(frozen=True)
class AgentActivity:
    name: str
    slug: str
    count: int


def activity_per_agent(span: Window) -> list[AgentActivity]:
    """The busiest agents of `span` by activity rows, most active first; rows that name
    no agent (people, tokens used without one) are one entry of their own, with an
    empty slug. One query."""
    rows = (
        Activity.objects.filter(created_at__gte=span.start)
        .order_by()
        .values("agent_id", "agent__name", "agent__slug")
        .annotate(n=Count("id"))
        .order_by("-n", "agent__name")[: AGENTS_SHOWN + 1]
    )
    found = [
        AgentActivity(r["agent__name"], r["agent__slug"], r["n"])
        if r["agent_id"] is not None
        else AgentActivity("No agent named", "", r["n"])
        for r in rows
    ]
    # AGENTS_SHOWN agents, and the unnamed entry wherever it ranks.
    return found if any(not a.slug for a in found) else found[:AGENTS_SHOWN]


def memories_per_day(span: Window) -> list[int]:
    """How many (unarchived) memories the organization held at the end of each day of
    `span`. One query: the rows older than the span are counted as one group."""
    day = Case(When(created_at__lt=span.start, then=Value(None)), default=_day("created_at"), output_field=DateField())
    rows = Memory.objects.filter(archived=False).order_by().annotate(day=day).values("day").annotate(n=Count("id"))
    added = {r["day"]: r["n"] for r in rows}
    total = added.pop(None, 0)
    held = []
    for each in span.days:
        total += added.get(each, 0)
        held.append(total)
    return held
