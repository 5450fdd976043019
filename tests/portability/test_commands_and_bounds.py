"""manage.py exportorg and importorg, and the upload's size bound."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts.models import Organization, User
from orchestra.actor import Actor
from orchestra.body_limits import limit_for
from orchestra.errors import InvalidArguments
from portability.models import ImportJob
from portability.services import import_request
from tests.portability.conftest import lines_of


def test_exportorg_then_importorg(world: Any, acme: Organization, initech: Organization, tmp_path: Path) -> None:
    path = tmp_path / "acme.jsonl"
    err = io.StringIO()
    call_command("exportorg", "--org", "acme", "--project", world["project"]["slug"], "--output", str(path), stderr=err)
    header, rows = lines_of(path.read_bytes())
    assert header["source"]["project"] == world["project"]["id"] and len(rows) == sum(header["counts"].values())
    assert "task" in err.getvalue() and "Exported" in err.getvalue()  # the progress, on stderr

    out = io.StringIO()
    call_command("importorg", str(path), "--org", initech.slug, "--dry-run", stdout=out, stderr=io.StringIO())
    assert out.getvalue().startswith(f"Would import into {initech.slug}: 1 project")
    out = io.StringIO()
    call_command("importorg", str(path), "--org", initech.slug, stdout=out, stderr=io.StringIO())
    assert out.getvalue().startswith(f"Imported into {initech.slug}: 1 project")
    out = io.StringIO()
    call_command("importorg", str(path), "--org", initech.slug, stdout=out, stderr=io.StringIO())
    assert f"nothing new; {len(rows)} already there" in out.getvalue()


def test_exportorg_to_stdout(world: Any, acme: Organization, capfdbinary: Any) -> None:
    call_command("exportorg", "--org", "acme", "--with-vectors", stderr=io.StringIO())
    header = orjson.loads(capfdbinary.readouterr().out.splitlines()[0])
    assert header["with_vectors"] is True and header["counts"]["project"] == 2


def test_importorg_reports_bad_lines(initech: Organization, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"format":"orchestra-export","version":1}\n{"kind":"project"}\n')
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("importorg", str(path), "--org", initech.slug, stderr=err)
    assert "line 2: id must be a UUID" in err.getvalue()


def test_unknown_organizations_and_projects(acme: Organization) -> None:
    with pytest.raises(CommandError, match="no organization with the slug 'nope'"):
        call_command("exportorg", "--org", "nope")
    with pytest.raises(CommandError, match="project"):
        call_command("exportorg", "--org", "acme", "--project", "nope")


def test_the_upload_route_has_its_own_body_limit(settings: Any) -> None:
    settings.PORTABILITY_UPLOAD_MAX_BYTES = 12345
    assert limit_for("/portability/import") == 12345
    assert limit_for("/portability/") == settings.WEB_MAX_BODY_BYTES


def test_an_upload_over_the_limit_is_refused(settings: Any, dana: User, initech: Organization) -> None:
    settings.PORTABILITY_UPLOAD_MAX_BYTES = 10
    upload = SimpleUploadedFile("big.jsonl", b"x" * 11)
    with pytest.raises(InvalidArguments, match="at most 10 bytes"):
        import_request(organization=initech, actor=Actor(user_id=dana.pk), upload=upload, dry_run=False)
    assert not ImportJob.objects.exists()


async def test_an_upload_over_the_limit_is_refused_as_it_arrives(settings: Any, db: Any) -> None:
    from tests.conftest import asgi_request

    settings.PORTABILITY_UPLOAD_MAX_BYTES = 100_000
    body = b"x" * 150_000
    refused = await asgi_request(
        "POST", "/portability/import", body=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert refused.status == 413 and refused.json()["error"]["details"] == {"limit_bytes": 100_000}
    # Under the limit, the request goes on (to the sign-in redirect: no session here).
    passed = await asgi_request(
        "POST", "/portability/import", body=body[:50_000], headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert passed.status != 413
