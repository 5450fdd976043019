"""The audit trail page (keyset pages, newest first) and its download (CSV or JSON
Lines of the filtered rows, at most AUDIT_EXPORT_MAX_ROWS, newest first). Owners and
admins only; only their organization's rows exist here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import audit_events
from dashboard.audit.forms import FORMATS, AuditFilters
from dashboard.context import MANAGERS, role_required
from dashboard.workplace.common import page, page_of

COLUMNS = ("created_at", "action", "actor", "target", "ip_address", "details")


@role_required(*MANAGERS)
def audit_index(request: HttpRequest) -> HttpResponse:
    form = AuditFilters(request.GET)
    if not form.is_valid():
        return page(request, "web/audit/list.html", "audit", {"form": form, "rows": []}, status=400)
    rows = page_of(request, audit_events(organization_id=request.organization.pk, **form.selector_kwargs()))  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("cursor", None)
    return page(
        request,
        "web/audit/list.html",
        "audit",
        {
            "form": form,
            "rows": rows.items,
            "next_cursor": rows.next_cursor,
            "formats": FORMATS,
            "filters_query": query.urlencode(),
            "retention_days": settings.AUDIT_RETENTION_DAYS,
        },
    )


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "created_at": event.created_at.isoformat(),
        "action": event.action,
        "actor": event.actor_label,
        "target": event.target,
        "ip_address": event.ip_address or "",
        "details": event.details,
    }


def _csv_lines(rows: Iterator[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    for event in rows:
        row = _row(event)
        # A cell starting with = + - @ is a formula to a spreadsheet: quoted as text.
        writer.writerow([_cell(json.dumps(row[c]) if c == "details" else str(row[c])) for c in COLUMNS])
        yield flush()


def _cell(value: str) -> str:
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _jsonl_lines(rows: Iterator[AuditEvent]) -> Iterator[str]:
    for event in rows:
        yield json.dumps(_row(event), ensure_ascii=False) + "\n"


@role_required(*MANAGERS)
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilters(request.GET)
    kind = request.GET.get("format", "csv")
    if kind not in FORMATS or not form.is_valid():
        return page(request, "web/audit/list.html", "audit", {"form": form, "rows": []}, status=400)
    organization = request.organization  # type: ignore[attr-defined]
    rows = audit_events(organization_id=organization.pk, **form.selector_kwargs())[: settings.AUDIT_EXPORT_MAX_ROWS]
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response: StreamingHttpResponse
    if kind == "csv":
        response = StreamingHttpResponse(_csv_lines(rows.iterator(chunk_size=500)), content_type="text/csv")
    else:
        response = StreamingHttpResponse(
            _jsonl_lines(rows.iterator(chunk_size=500)), content_type="application/x-ndjson"
        )
    extension = "csv" if kind == "csv" else "jsonl"
    response["Content-Disposition"] = f'attachment; filename="audit-{organization.slug}-{stamp}.{extension}"'
    # Streamed: the decorators above pass the response through untouched.
    return response  # type: ignore[return-value]
