"""Structured logs: one JSON object per line, a request id on every line, no secrets.

The request id lives in a context variable set by the HTTP middleware, the MCP
consumers and Celery tasks. RedactSecretsFilter masks anything shaped like an
Orchestra token or a bearer credential, wherever it appears in a record. Request
paths are logged as the URL pattern they matched (`logged_path`), because some links
carry a secret in their path (invitations, email confirmations, password resets).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str] = ContextVar("orchestra_request_id", default="-")

_SECRET_PATTERNS = [
    re.compile(r"orch_(?:live|test)_[A-Za-z0-9]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # GitHub's tokens: installation (ghs_), user-to-server (ghu_), OAuth (gho_), refresh
    # (ghr_), classic personal (ghp_), fine-grained personal (github_pat_); any length.
    re.compile(r"\b(gh[psuor]_|github_pat_)[A-Za-z0-9_]{8,}"),
    # "Authorization: token …" as GitHub's API takes it.
    re.compile(r"(?i)(\btoken\s+)[A-Za-z0-9._~+/=-]{20,}"),
    # Stripe's secret and restricted keys and webhook signing secrets.
    re.compile(r"\b(sk_live_|sk_test_|rk_live_|rk_test_|whsec_)[A-Za-z0-9]{8,}"),
]
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def new_request_id(incoming: str | None = None) -> str:
    """Reuse a well-formed incoming X-Request-ID, otherwise make one."""
    if incoming and _REQUEST_ID_RE.match(incoming):
        return incoming
    return uuid.uuid4().hex


def redact(text: str) -> str:
    text = _SECRET_PATTERNS[0].sub("orch_[redacted]", text)
    text = _SECRET_PATTERNS[1].sub(r"\1[redacted]", text)
    text = _SECRET_PATTERNS[2].sub(r"\1[redacted]", text)
    text = _SECRET_PATTERNS[3].sub(r"\1[redacted]", text)
    return _SECRET_PATTERNS[4].sub(r"\1[redacted]", text)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def logged_path(request: Any) -> str:
    """A Django request's path as logs may show it: the URL pattern when one matched
    (`/invitations/<str:secret>/`), else the path; never the query string."""
    match = getattr(request, "resolver_match", None)
    return "/" + match.route if match is not None and match.route else str(request.path)


class RequestPathFilter(logging.Filter):
    """Django's own request records (django.request: "Not Found: /path", errors)
    name the raw path; put the URL pattern in its place."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str) and isinstance(record.args, tuple):
            raw = {path, path.encode("unicode_escape").decode("ascii")}
            shown = logged_path(request)
            record.args = tuple(shown if isinstance(arg, str) and arg in raw else arg for arg in record.args)
        return True


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Render once, redact, and freeze the result so no formatter re-renders
        # the raw arguments.
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "message": record.getMessage(),
        }
        if record.exc_info or record.exc_text:
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, default=str)
