"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from orchestra import supervisor


def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers. Nothing else is checked, so a slow database never gets
    a healthy process restarted."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """The process can serve: the database answers, and Redis when configured (else
    503, "unavailable"). The children of `manage.py serve` (the embedded default's
    Celery worker and beat) are reported too: one that is down (being restarted) makes
    the answer "degraded", still 200, since requests do not need it (its tasks wait in
    the broker) and taking the web server out of a load balancer would only add an
    outage to the one being repaired."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which kind
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.REDIS_URL:
        try:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            client.ping()
            client.close()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    children = supervisor.status()
    checks.update(children)
    status = "unavailable" if not ready else "ok" if all(v == "ok" for v in children.values()) else "degraded"
    return JsonResponse({"status": status, "checks": checks}, status=200 if ready else 503)
