"""Reads for specs. Lists never load contents: a spec's content lives in its versions,
and only get_spec reads one of them."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from tools.specs.models import Spec, SpecVersion

VERSIONS_LIMIT = 100


def spec_get(ref: str, *, argument: str = "spec", for_update: bool = False) -> Spec:
    """A spec of the organization in scope by id or slug. For a project-restricted token,
    other projects' specs answer exactly like missing ones."""
    uid = parse_uuid(ref)
    rows = Spec.objects.filter(Q(pk=uid) if uid is not None else Q(slug=ref))
    if for_update:
        rows = rows.select_for_update()
    spec = rows.first()
    if spec is None:
        raise not_found(argument, ref)
    return spec


def spec_list(*, project: Any, status: str | None = None) -> QuerySet[Spec]:
    rows = Spec.objects.all() if project is None else Spec.objects.filter(project=project)
    if status:
        rows = rows.filter(status=status)
    return rows


def version_get(spec: Spec, number: int | None = None) -> SpecVersion:
    """The latest version of `spec`, or the one numbered `number`."""
    wanted = spec.version if number is None else number
    version = SpecVersion.objects.filter(spec=spec, number=wanted).first()
    if version is None:
        raise not_found("version", wanted)
    return version


def versions(spec: Spec, *, limit: int = VERSIONS_LIMIT) -> list[SpecVersion]:
    """The newest `limit` versions of `spec`, without their contents."""
    return list(SpecVersion.objects.filter(spec=spec).defer("content").order_by("-number")[:limit])


def specs_by_status(project: Any) -> dict[str, int]:
    """{status: number of the project's specs}, in one query (for get_project)."""
    rows = Spec.objects.filter(project=project).values("status").annotate(n=Count("id")).order_by("status")
    return {row["status"]: row["n"] for row in rows}
