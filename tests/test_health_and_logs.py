"""Probes, structured logs with request ids, and secrets kept out of logs."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from orchestra.logging import JsonFormatter, RedactSecretsFilter, RequestIdFilter, RequestPathFilter, request_id_var
from tests.conftest import asgi_request
from tests.mcp.helpers import auth, rpc


def test_healthz_and_readyz(db) -> None:
    client = Client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"


def test_readyz_checks_redis_when_configured(db, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    ok = Client().get("/readyz").json()
    assert ok["checks"]["redis"] == "ok"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    down = Client().get("/readyz")
    assert down.status_code == 503 and down.json()["checks"]["redis"].startswith("error")


def test_views_answer_with_a_request_id(db) -> None:
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    generated = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]
    assert len(generated) == 32 and " " not in generated


def format_record(message: str, *args: object) -> dict[str, object]:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)
    RequestIdFilter().filter(record)
    RedactSecretsFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_json_log_lines_carry_the_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        entry = format_record("hello %s", "world")
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "req-42" and entry["message"] == "hello world" and entry["level"] == "INFO"


def test_secrets_are_redacted_from_log_lines() -> None:
    raw = "orch_live_" + "a1B2" * 9 + "zz"
    entry = format_record("got %s and header %s", raw, "Bearer sk-verysecretvalue123")
    assert raw not in json.dumps(entry) and "sk-verysecretvalue123" not in json.dumps(entry)
    assert "orch_[redacted]" in entry["message"]


def test_stripe_secrets_are_redacted_from_log_lines() -> None:
    keys = ["sk_live_51Abc" + "x" * 30, "rk_test_51Abc" + "y" * 30, "whsec_" + "z" * 32]
    entry = json.dumps(format_record("body %s %s %s", *keys))
    assert not any(key in entry for key in keys)
    assert "sk_live_[redacted]" in entry and "whsec_[redacted]" in entry
    # The publishable key is public: left alone.
    assert "pk_test_51Abc" + "p" * 20 in json.dumps(format_record("pk_test_51Abc" + "p" * 20))


@pytest.mark.django_db(transaction=True)
async def test_no_token_reaches_the_logs_of_a_failing_request(alice_token, caplog) -> None:
    caplog.set_level(logging.INFO)
    init = rpc("initialize", {"protocolVersion": "2025-11-25"})
    session = await asgi_request("POST", "/mcp", body=init, headers=auth(alice_token))
    await asgi_request(
        "POST",
        "/mcp",
        body=rpc("tools/call", {"name": "test_internal_error", "arguments": {}}),
        headers=auth(alice_token, **{"mcp-session-id": session.headers["mcp-session-id"]}),
    )
    await asgi_request("POST", "/mcp", body=b"{}", headers=auth(alice_token[:-2] + "xx"))
    lines = []
    for record in caplog.records:
        RequestIdFilter().filter(record)
        RedactSecretsFilter().filter(record)
        lines.append(JsonFormatter().format(record))
    text = "\n".join(lines)
    assert "internal error while handling" in text and "Traceback" in text  # logged with its traceback...
    assert alice_token not in text and alice_token[10:-4] not in text  # ...but no token
    assert "notarealtoken" not in text


def test_each_view_request_is_logged_by_its_url_pattern_never_its_secrets(db, caplog) -> None:
    """Links that carry a secret (an invitation, an email confirmation) reach the log as
    the URL pattern they matched; query strings never do."""
    caplog.set_level(logging.INFO)
    Client().get("/healthz?probe=1")
    Client().get("/invitations/s3cr3t-invitation-key/")  # 410: Django logs a warning too
    Client().get("/no/such/page")
    messages = []
    for record in caplog.records:
        for step in (RequestPathFilter(), RedactSecretsFilter()):  # as the log handler runs them
            step.filter(record)
        messages.append(record.getMessage())
    access = [m for m, r in zip(messages, caplog.records, strict=True) if r.name == "orchestra.access"]
    assert access[0].startswith("GET /healthz 200 ") and access[0].endswith("ms")
    assert access[1].startswith("GET /invitations/<str:secret>/ 410 ")
    assert access[2].startswith("GET /no/such/page 404 ")
    assert "Gone: /invitations/<str:secret>/" in messages
    text = "\n".join(messages)
    assert "s3cr3t" not in text and "probe" not in text
