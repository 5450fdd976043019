"""Starting a repository sync after commit: by a Celery worker when REDIS_URL is set
(or tasks run eagerly), otherwise on a background thread of this process, like
embeddings (memory/embedding_jobs.py): the embedded default's requests never wait."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="github-sync")


def schedule_sync(repository_id: Any) -> None:
    from githubint.tasks import sync_repository

    if settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        sync_repository.delay(str(repository_id))
        return
    _executor.submit(_run, str(repository_id))


def _run(repository_id: str) -> None:
    from githubint.tasks import RetryLater, retry_in_process, sync_now

    try:
        sync_now(repository_id)
    except RetryLater as wait:
        logger.warning("GitHub sync of %s postponed: %s", repository_id, wait)
        retry_in_process(repository_id, wait.seconds + 1)
    except Exception:
        logger.exception("GitHub sync of %s failed", repository_id)
    finally:
        connections.close_all()
