"""The Export and import page: owners export (built in the background), download and
import; members and viewers get 403; another organization's export is a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, Role, User
from accounts.services import membership_set
from portability.models import ExportJob, ImportJob, JobStatus
from portability.services import exports_purge


@pytest.fixture(autouse=True)
def _tasks_inline(settings: Any) -> None:
    from orchestra.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert app.conf.task_always_eager is True  # no earlier test left its own value on app.conf


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _export(client: Client, capture: Any, **form: str) -> ExportJob:
    with capture(execute=True):
        response = client.post(reverse("web:portability-export"), form)
    assert response.status_code == 302
    return ExportJob.objects.latest("created_at")


def _upload(client: Client, capture: Any, content: bytes, **form: str) -> ImportJob:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("acme.jsonl", content, content_type="application/jsonl")
    with capture(execute=True):
        response = client.post(reverse("web:portability-import"), {"file": upload, **form})
    assert response.status_code == 302
    return ImportJob.objects.latest("created_at")


def test_an_owner_exports_downloads_and_imports(
    world: Any, alice: User, acme: Organization, dana: User, initech: Organization,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    owner = _client(alice)
    page = owner.get(reverse("web:members"))
    assert reverse("web:portability") in page.content.decode()  # where owners find it
    job = _export(owner, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == JobStatus.READY and job.size_bytes > 0 and job.counts["task"] > 0
    page = owner.get(reverse("web:portability")).content.decode()
    link = reverse("web:portability-download", args=[job.pk])
    assert link in page
    download = owner.get(link)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="orchestra-acme-')
    content = b"".join(download.streaming_content)
    assert content.startswith(b'{"format":"orchestra-export"')

    # Dana, Initech's owner, imports it: a dry run first, then for real.
    importer = _client(dana)
    dry = _upload(importer, django_capture_on_commit_callbacks, content, dry_run="on")
    dry.refresh_from_db()
    assert dry.status == JobStatus.READY and dry.created["task"] == job.counts["task"]
    done = _upload(importer, django_capture_on_commit_callbacks, content)
    done.refresh_from_db()
    assert done.status == JobStatus.READY and done.created == job.counts and done.skipped == 0
    again = _upload(importer, django_capture_on_commit_callbacks, content)
    again.refresh_from_db()
    assert again.created == {} and again.skipped == sum(job.counts.values())
    # The uploaded files are gone once imported.
    assert not list(job_files(done))


def job_files(job: ImportJob) -> Any:
    from portability.services import portability_dir

    return portability_dir().glob("import-*")


def test_a_bad_file_shows_its_line_numbers(
    alice: User, acme: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    owner = _client(alice)
    bad = b'{"format":"orchestra-export","version":1}\n{"kind":"spaceship","id":"x"}\n'
    job = _upload(owner, django_capture_on_commit_callbacks, bad)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.errors == [{"line": 2, "message": "unknown kind 'spaceship'"}]
    assert "Line 2: unknown kind" in owner.get(reverse("web:portability")).content.decode()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER, Role.ADMIN])
def test_only_owners_reach_the_page(
    role: str, alice: User, bob: User, acme: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    job = _export(_client(alice), django_capture_on_commit_callbacks)
    membership_set(organization=acme, user=bob, role=role)
    other = _client(bob)
    assert other.get(reverse("web:portability")).status_code == 403
    assert other.post(reverse("web:portability-export")).status_code == 403
    assert other.get(reverse("web:portability-download", args=[job.pk])).status_code == 403
    assert other.post(reverse("web:portability-import")).status_code == 403
    assert reverse("web:portability") not in other.get(reverse("web:members")).content.decode()
    assert ExportJob.objects.count() == 1


def test_another_organizations_export_is_not_found(
    alice: User, acme: Organization, charlie: User, globex: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    job = _export(_client(alice), django_capture_on_commit_callbacks)
    assert _client(charlie).get(reverse("web:portability-download", args=[job.pk])).status_code == 404
    assert _client(alice).get(reverse("web:portability-download", args=[job.pk])).status_code == 200


def test_an_expired_export_is_purged_and_not_found(
    alice: User, acme: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import timezone

    from portability.services import export_path

    owner = _client(alice)
    job = _export(owner, django_capture_on_commit_callbacks)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now())
    assert owner.get(reverse("web:portability-download", args=[job.pk])).status_code == 404
    assert exports_purge() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.EXPIRED and not export_path(job).exists()


def test_an_export_of_a_project_of_another_organization_is_refused(
    alice: User, acme: Organization, globex: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    from orchestra.tenancy import tenant_scope
    from tools.projects.models import Project

    with tenant_scope(globex):
        theirs = Project.objects.create(organization=globex, name="Secret", slug="secret")
    owner = _client(alice)
    response = owner.post(reverse("web:portability-export"), {"project": str(theirs.pk)}, follow=True)
    assert "not one of this organization" in response.content.decode()
    assert not ExportJob.objects.exists()
