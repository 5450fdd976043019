"""Celery tasks of exports and imports: they take ids, are idempotent (a job runs once,
claimed from pending) and acks_late. An organization's export or import may take longer
than the default task limits: they say how long they may take."""

from __future__ import annotations

from celery import shared_task

from portability import services

# An hour: a very large organization's export or import.
LONG = 3600


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=LONG, time_limit=LONG + 60)
def build_export(job_id: str) -> None:
    services.export_build(job_id)


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=LONG, time_limit=LONG + 60)
def run_import(job_id: str) -> None:
    services.import_run(job_id)


@shared_task(acks_late=True, ignore_result=True)
def purge_expired_exports() -> int:
    return services.exports_purge()
