"""Export, import into an empty organization, export again: the same rows, ids aside;
importing the file again writes nothing."""

from __future__ import annotations

import io
from typing import Any

import orjson

from accounts.models import Organization
from orchestra.actor import SYSTEM
from orchestra.tenancy import tenant_scope
from portability.importing import organization_import
from portability.models import ImportedRow
from portability.records import KINDS
from tests.portability.conftest import export_bytes, lines_of
from tests.tools.world import row_counts
from tools.notes.models import Note
from tools.projects.models import Project


def _import(organization: Organization, data: bytes, **kwargs: Any) -> Any:
    return organization_import(organization=organization, stream=io.BytesIO(data), actor=SYSTEM, **kwargs)


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """`value` with every id of `names` replaced by its name."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _renamed(item, names) for key, item in value.items()}
    return value


def _canonical(rows: list[dict[str, Any]]) -> list[bytes]:
    return sorted(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) for row in rows)


def test_round_trip_is_equal_after_id_remapping(world: Any, acme: Organization, initech: Organization) -> None:
    first = export_bytes(acme)
    header, rows = lines_of(first)
    assert header["format"] == "orchestra-export" and header["version"] == 1
    assert header["source"]["organization"] == "acme" and header["embedding_model"]
    # Every kind is there, and the header counts what follows.
    assert all(header["counts"][kind.name] > 0 for kind in KINDS), header["counts"]
    assert sum(header["counts"].values()) == len(rows)
    # No person travels: no user, token or email anywhere in the file.
    assert b"alice" not in first.lower() and b"@example.com" not in first
    assert not any(key in row for row in rows for key in ("author", "created_by", "actor_user", "token", "user"))

    report = _import(initech, first)
    assert report.created == header["counts"] and report.skipped == 0

    again = export_bytes(initech)
    header_again, rows_again = lines_of(again)
    assert header_again["counts"] == header["counts"]
    back = {
        str(t): str(s)
        for s, t in ImportedRow.objects.filter(organization=initech).values_list("source_id", "target_id")
    }
    assert len(back) == len(rows)
    assert _canonical(_renamed(rows_again, back)) == _canonical(rows)
    # New ids everywhere: none of acme's ids is reused.
    assert not {row["id"] for row in rows} & {row["id"] for row in rows_again}
    # A note's link to a row of the file names that row's new id.
    with tenant_scope(initech):
        note = Note.objects.get(title="Links")
    linked = next(link for link in note.links if isinstance(link, dict))
    assert back[linked["id"]] == world["subtask"]["id"]


def test_a_second_import_of_the_same_file_writes_nothing(world: Any, acme: Organization, initech: Organization) -> None:
    data = export_bytes(acme)
    first = _import(initech, data)
    before = row_counts()
    second = _import(initech, data)
    assert second.created == {} and second.skipped == sum(first.created.values())
    assert row_counts() == before


def test_a_dry_run_reports_and_writes_nothing(world: Any, acme: Organization, initech: Organization) -> None:
    data = export_bytes(acme)
    before = row_counts()
    report = _import(initech, data, dry_run=True)
    assert report.dry_run and report.created["task"] > 0
    assert row_counts() == before


def test_one_project_travels_alone(world: Any, acme: Organization, initech: Organization) -> None:
    project_id = world["project"]["id"]
    data = export_bytes(acme, project_id=project_id)
    header, rows = lines_of(data)
    assert header["source"]["project"] == project_id
    projects = [row for row in rows if row["kind"] == "project"]
    assert [p["id"] for p in projects] == [project_id]  # not the organization's other project
    # Organization-scoped memories are not the project's.
    assert not any(row["kind"] == "memory" and row["scope"] == "organization" for row in rows)
    report = _import(initech, data)
    assert report.created["project"] == 1
    with tenant_scope(initech):
        assert list(Project.objects.values_list("slug", flat=True)) == [world["project"]["slug"]]


def test_vectors_travel_when_asked_and_the_model_matches(world: Any, acme: Organization, initech: Organization) -> None:
    from memory.models import EmbeddingStatus, Memory
    from portability.exporting import current_embedding_model

    with tenant_scope(acme):
        memory = Memory.objects.get(content="Everyone uses UTC")
        Memory.objects.filter(pk=memory.pk).update(
            embedding=[0.05] * 384, embedding_status=EmbeddingStatus.READY, embedding_model=current_embedding_model()
        )
    without = lines_of(export_bytes(acme))[1]
    assert not any("embedding" in row for row in without)
    data = export_bytes(acme, with_vectors=True)
    row = next(r for r in lines_of(data)[1] if r.get("content") == "Everyone uses UTC")
    assert row["embedding_model"] == current_embedding_model() and len(row["embedding"]) == 384
    report = _import(initech, data)
    with tenant_scope(initech):
        imported = Memory.objects.get(content="Everyone uses UTC")
        others = Memory.objects.exclude(pk=imported.pk)
        assert imported.embedding_status == EmbeddingStatus.READY and imported.embedding is not None
        # The others had no vector of our model: they are embedded again.
        assert all(m.embedding_status == EmbeddingStatus.PENDING for m in others)
    assert report.reembed == others.count() + report.created["decision"]


def test_an_import_is_recorded_once_and_a_dry_run_never(world: Any, acme: Organization, initech: Organization) -> None:
    from audit.actions import Action
    from audit.models import AuditEvent

    data = export_bytes(acme)
    _import(initech, data, dry_run=True)
    assert not AuditEvent.unscoped.filter(organization_id=initech.pk, action=Action.DATA_IMPORTED).exists()
    report = _import(initech, data)
    (event,) = AuditEvent.unscoped.filter(organization_id=initech.pk, action=Action.DATA_IMPORTED)
    assert {kind: event.details[kind] for kind, n in report.created.items() if n} == {
        kind: n for kind, n in report.created.items() if n
    }
    # The same file again writes nothing, and records nothing.
    _import(initech, data)
    assert AuditEvent.unscoped.filter(organization_id=initech.pk, action=Action.DATA_IMPORTED).count() == 1
