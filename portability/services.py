"""Exports and imports asked for in the dashboard: a row that tracks each, a file in
PORTABILITY_DIR, and a Celery task that does the work (portability.tasks)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from orchestra.actor import Actor
from orchestra.errors import InvalidArguments
from portability.audit import portability_recorded
from portability.exporting import export_write
from portability.importing import ImportRefused, import_path
from portability.models import ExportJob, ImportJob, JobStatus

logger = logging.getLogger(__name__)


def portability_dir() -> Path:
    path = Path(settings.PORTABILITY_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_path(job: ExportJob) -> Path:
    return portability_dir() / f"export-{job.pk}.jsonl"


def export_request(
    *, organization: Organization, actor: Actor, project_id: Any = None, with_vectors: bool = False
) -> ExportJob:
    """Ask for an export (the caller checked that `project_id` is the organization's);
    a task builds it after commit."""
    from portability.tasks import build_export

    job = ExportJob.objects.create(
        organization=organization, requested_by_id=actor.user_id, project_id=project_id, with_vectors=with_vectors
    )
    transaction.on_commit(lambda: build_export.delay(str(job.pk)))
    return job


def _claim(model: Any, job_id: Any) -> Any:
    """The job, moved from pending to running; None if another run has it (a task
    delivered twice does the work once)."""
    if model.objects.filter(pk=job_id, status=JobStatus.PENDING).update(status=JobStatus.RUNNING) != 1:
        return None
    return model.objects.select_related("organization").get(pk=job_id)


def export_build(job_id: Any) -> None:
    """Write the export's file (beside it first, then renamed: a half-written file is
    never linked) and mark it ready until PORTABILITY_EXPORT_EXPIRY_HOURS from now."""
    job = _claim(ExportJob, job_id)
    if job is None:
        return
    final = export_path(job)
    partial = final.with_suffix(".partial")
    try:
        with partial.open("wb") as out:
            counts = export_write(
                out, organization=job.organization, project_id=job.project_id, with_vectors=job.with_vectors
            )
        partial.replace(final)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        logger.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=f"the export failed ({type(exc).__name__})", finished_at=timezone.now()
        )
        return
    now = timezone.now()
    with transaction.atomic():  # the export is linked and recorded together
        ExportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.READY,
            file_name=final.name,
            size_bytes=final.stat().st_size,
            counts=counts,
            finished_at=now,
            expires_at=now + timedelta(hours=settings.PORTABILITY_EXPORT_EXPIRY_HOURS),
        )
        portability_recorded(
            action="export",
            organization=job.organization,
            actor=Actor(user_id=job.requested_by_id, tool="dashboard"),
            counts=counts,
            details={"project": None if job.project_id is None else str(job.project_id)},
        )


def export_download_path(job: ExportJob) -> Path | None:
    """The file of a ready, unexpired export; None otherwise."""
    if job.status != JobStatus.READY or job.expires_at is None or job.expires_at <= timezone.now():
        return None
    path = export_path(job)
    return path if path.exists() else None


def exports_purge() -> int:
    """Expired exports lose their file; returns how many."""
    expired = list(
        ExportJob.objects.filter(status=JobStatus.READY, expires_at__lte=timezone.now()).values_list("pk", flat=True)
    )
    for pk in expired:
        (portability_dir() / f"export-{pk}.jsonl").unlink(missing_ok=True)
    ExportJob.objects.filter(pk__in=expired).update(status=JobStatus.EXPIRED)
    return len(expired)


def import_request(*, organization: Organization, actor: Actor, upload: UploadedFile, dry_run: bool) -> ImportJob:
    """Keep an uploaded file for the task that imports it after commit. The request
    body limit (PORTABILITY_UPLOAD_MAX_BYTES on this route) bounded it already."""
    from portability.tasks import run_import

    if upload.size is None or upload.size > settings.PORTABILITY_UPLOAD_MAX_BYTES:
        raise InvalidArguments(f"the file must be at most {settings.PORTABILITY_UPLOAD_MAX_BYTES} bytes")
    job = ImportJob.objects.create(
        organization=organization,
        requested_by_id=actor.user_id,
        original_name=(upload.name or "")[:200],
        size_bytes=upload.size,
        dry_run=dry_run,
    )
    path = portability_dir() / f"import-{job.pk}.jsonl"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    job.file_name = path.name
    job.save(update_fields=["file_name"])
    transaction.on_commit(lambda: run_import.delay(str(job.pk)))
    return job


def import_run(job_id: Any) -> None:
    """Import the job's file into its organization; keep the outcome, drop the file."""
    job = _claim(ImportJob, job_id)
    if job is None:
        return
    path = portability_dir() / job.file_name
    actor = Actor(user_id=job.requested_by_id, tool="dashboard")
    try:
        report = import_path(organization=job.organization, path=path, actor=actor, dry_run=job.dry_run)
    except ImportRefused as refused:
        errors = [{"line": p.line, "message": p.message} for p in refused.problems]
        ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, errors=errors, finished_at=timezone.now())
    except Exception as exc:
        logger.exception("import %s failed", job.pk)
        error = {"line": 0, "message": f"the import failed ({type(exc).__name__}): nothing was imported"}
        ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, errors=[error], finished_at=timezone.now())
    else:
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.READY, created=report.created, skipped=report.skipped, finished_at=timezone.now()
        )
    finally:
        path.unlink(missing_ok=True)
