"""The Celery application. Tasks take ids, are idempotent and enqueued on commit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra.settings")

app = Celery("orchestra")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _prepare_filesystem_broker(sender: Celery, **kwargs: Any) -> None:
    # Kombu's filesystem transport (the embedded default) needs its folders.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@task_prerun.connect
def _task_request_id(task_id: str | None = None, **kwargs: Any) -> None:
    # Log lines of a task carry the task id as their request id.
    from orchestra.logging import request_id_var

    request_id_var.set(task_id or "-")
