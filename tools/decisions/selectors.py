"""Reads for decisions."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery

from memory.search import HEAVY
from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from tools.decisions.models import Decision, DecisionComment


def with_successor(rows: QuerySet[Decision]) -> QuerySet[Decision]:
    """Adds `successor_id` (the decision that superseded each row, if any) in the same
    query, and leaves out the columns no answer shows."""
    successor = Decision.objects.filter(supersedes=OuterRef("pk")).values("pk")[:1]
    return rows.defer(*HEAVY).annotate(successor_id=Subquery(successor))


def decision_get(ref: str, *, argument: str = "decision") -> Decision:
    """A decision of the organization in scope, with `successor_id`. For a
    project-restricted token, other projects' decisions answer exactly like missing ones."""
    uid = parse_uuid(ref)
    rows = Decision.objects.filter(pk=uid) if uid is not None else Decision.objects.none()
    decision = with_successor(rows).first()
    if decision is None:
        raise not_found(argument, ref)
    return decision


def decision_list(*, project: Any = None, status: str | None = None, tag: str | None = None) -> QuerySet[Decision]:
    """The organization's decisions (or one project's), for paginate()."""
    return with_successor(decision_search_rows(project=project, status=status, tags=[tag] if tag else None))


def decision_search_rows(
    *, project: Any = None, status: str | None = None, tags: list[str] | None = None
) -> QuerySet[Decision]:
    """What search_decisions covers: the filters go inside both of the search's queries."""
    rows = Decision.objects.all()
    if project is not None:
        rows = rows.filter(project=project)
    if status:
        rows = rows.filter(status=status)
    if tags:
        rows = rows.filter(tags__contains=sorted({t.strip().lower() for t in tags}))
    return rows


def decision_discussion(decision: Decision) -> list[DecisionComment]:
    """Every discussion entry of a decision, oldest first (their number is capped when
    they are written: services.MAX_DISCUSSION)."""
    return list(DecisionComment.objects.filter(decision=decision).order_by("created_at", "id"))


def decision_counts_by_status(project: Any) -> dict[str, int]:
    """{status: number of the project's decisions}, in one query (for get_project)."""
    rows = Decision.objects.filter(project=project).order_by().values_list("status").annotate(n=Count("id"))
    return {status: n for status, n in rows}
