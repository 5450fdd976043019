"""Files that must be refused whole, with a clear error (and the line's number), and
nothing written: foreign ids, lines too long, too deep, too many, bad lines, plans."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from accounts.models import Organization
from billing.services import plan_grant
from orchestra.actor import SYSTEM
from orchestra.tenancy import tenant_scope
from portability.importing import ImportRefused, import_path, organization_import
from tests.portability.conftest import export_bytes, lines_of
from tests.tools.world import row_counts
from tools.projects.models import Project

HEADER = {"format": "orchestra-export", "version": 1, "source": {}, "counts": {}, "embedding_model": ""}
NOW = "2026-12-01T10:00:00+00:00"


def _project(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "project",
        "id": str(uuid.uuid4()),
        "name": "Crafted",
        "slug": "crafted",
        "description": "",
        "settings": {},
        "status": "active",
        "archived_at": None,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }


def _task(project: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "task",
        "id": str(uuid.uuid4()),
        "project": project,
        "assignee_agent": None,
        "parent": None,
        "title": "T",
        "description": "",
        "status": "todo",
        "priority": "medium",
        "labels": [],
        "due_date": None,
        "completion_notes": "",
        "started_at": None,
        "completed_at": None,
        "created_at": NOW,
        "updated_at": NOW,
        "deleted_at": None,
        "delete_reason": "",
        **fields,
    }


def _file(*rows: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in (HEADER, *rows))


def _refused(organization: Organization, data: bytes | Path) -> list[str]:
    before = row_counts()
    with pytest.raises(ImportRefused) as refused:
        if isinstance(data, Path):
            import_path(organization=organization, path=data, actor=SYSTEM)
        else:
            organization_import(organization=organization, stream=io.BytesIO(data), actor=SYSTEM)
    assert row_counts() == before, "a refused import wrote something"
    return [str(problem) for problem in refused.value.problems]


def test_a_reference_to_a_row_not_in_the_file_is_refused(globex: Organization, initech: Organization) -> None:
    with tenant_scope(globex):
        theirs = Project.objects.create(organization=globex, name="Secret", slug="secret")
    # A task of initech's file pointing at globex's project: a foreign id.
    problems = _refused(initech, _file(_project(), _task(str(theirs.pk))))
    assert problems == [f"line 3: project {theirs.pk} is not a project of this file (defined on an earlier line)"]


def test_a_line_carrying_another_organizations_id_gets_a_new_row(globex: Organization, initech: Organization) -> None:
    with tenant_scope(globex):
        theirs = Project.objects.create(organization=globex, name="Secret", slug="secret")
    organization_import(
        organization=initech, stream=io.BytesIO(_file(_project(id=str(theirs.pk), name="Mine"))), actor=SYSTEM
    )
    theirs.refresh_from_db()
    assert theirs.name == "Secret" and theirs.organization_id == globex.pk
    with tenant_scope(initech):
        mine = Project.objects.get(name="Mine")
    assert mine.pk != theirs.pk


def test_bad_lines_are_reported_with_their_numbers(initech: Organization) -> None:
    project = _project()
    problems = _refused(
        initech,
        _file(
            project,
            _task(project["id"], status="bogus"),
            _task(project["id"], labels=["x"] * 21),
            _task(project["id"], title=""),
            {"kind": "spaceship", "id": str(uuid.uuid4())},
            _task(project["id"], unexpected=1),
            _task(project["id"], parent=str(uuid.uuid4())),
        ),
    )
    assert problems[0].startswith("line 3: status must be one of backlog, todo")
    assert problems[1] == "line 4: labels must be a list of at most 20 items"
    assert problems[2] == "line 5: title must not be empty"
    assert problems[3] == "line 6: unknown kind 'spaceship'"
    assert problems[4] == "line 7: unknown field unexpected for a task"
    assert problems[5].startswith("line 8: parent ") and problems[5].endswith("is not a task of this file")
    assert len(problems) == 6


def test_a_line_that_is_not_an_object_or_not_json(initech: Organization) -> None:
    data = orjson.dumps(HEADER) + b"\n[1, 2]\n{not json\n"
    assert _refused(initech, data) == ["line 2: a line is a JSON object", "line 3: not valid JSON"]


def test_a_file_that_is_not_an_export(initech: Organization) -> None:
    assert _refused(initech, b'{"format": "something else"}\n') == [
        "line 1: not an Orchestra export (the header's format is not 'orchestra-export')"
    ]
    assert _refused(initech, b"") == ["the file is empty"]


def test_a_100_mib_line_is_refused_without_being_read_whole(initech: Organization, tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    chunk = b"a" * (1024 * 1024)
    with path.open("wb") as out:
        out.write(orjson.dumps(HEADER) + b'\n{"kind": "note", "content": "')
        for _ in range(100):
            out.write(chunk)
        out.write(b'"}\n')
    started = time.monotonic()
    assert _refused(initech, path) == ["line 2: longer than 1048576 bytes: not read"]
    assert time.monotonic() - started < 2


def test_json_10000_levels_deep_is_refused(initech: Organization) -> None:
    deep = b'{"kind": "project", "settings": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    assert _refused(initech, orjson.dumps(HEADER) + b"\n" + deep + b"\n") == [
        "line 2: JSON nested deeper than 32 levels"
    ]


def test_33_levels_in_a_json_field_are_refused(initech: Organization) -> None:
    settings_value: Any = {}
    for _ in range(32):
        settings_value = {"a": settings_value}
    assert _refused(initech, _file(_project(settings=settings_value))) == ["line 2: JSON nested deeper than 32 levels"]


def test_a_million_lines_are_refused_before_any_is_parsed(initech: Organization, tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_bytes(orjson.dumps(HEADER) + b"\n" + b"{}\n" * 1_000_000)
    started = time.monotonic()
    assert _refused(initech, path) == ["the file has more than 500000 lines: not read"]
    assert time.monotonic() - started < 2


def test_an_import_over_the_plan_is_refused(world: Any, acme: Organization, initech: Organization) -> None:
    plan_grant(organization=initech, plan="free")  # 1 project, 3 agents, 100 tasks a month
    problems = _refused(initech, export_bytes(acme))
    assert problems == [
        "the Free plan allows 1 projects; this organization uses 0 and the file would add 2: nothing was imported"
    ]


def test_a_plan_limit_reached_while_writing_rolls_everything_back(
    world: Any, acme: Organization, initech: Organization, monkeypatch: Any
) -> None:
    # The counters decide at the end of the transaction, after every row is written.
    from portability import importing

    monkeypatch.setattr(importing, "_plan_problems", lambda organization, needs: [])
    plan_grant(organization=initech, plan="free")
    problems = _refused(initech, export_bytes(acme))
    assert len(problems) == 1 and "plan allows" in problems[0] and problems[0].endswith("nothing was imported")


def test_the_header_counts_match_the_lines(world: Any, acme: Organization) -> None:
    header, rows = lines_of(export_bytes(acme))
    assert sum(header["counts"].values()) == len(rows)


def test_another_organizations_id_map_is_not_ours(
    world: Any, acme: Organization, globex: Organization, initech: Organization
) -> None:
    data = export_bytes(acme)
    organization_import(organization=globex, stream=io.BytesIO(data), actor=SYSTEM)
    # Globex's import of the file says nothing about Initech: every row is new here.
    report = organization_import(organization=initech, stream=io.BytesIO(data), actor=SYSTEM)
    assert report.skipped == 0 and sum(report.created.values()) == len(lines_of(data)[1])
    with tenant_scope(globex):
        assert Project.objects.count() == 2


def test_a_file_cut_short_is_refused(world: Any, acme: Organization, initech: Organization) -> None:
    data = export_bytes(acme)
    cut = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]  # the last line lost
    _, rows = lines_of(data)
    assert _refused(initech, cut) == [
        f"line 1: the header counts {len(rows)} rows by kind, the file holds {len(rows) - 1}: is the file complete?"
    ]
