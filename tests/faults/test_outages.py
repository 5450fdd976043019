"""The one place that maps "Redis or the database is away" to 503 + Retry-After, on
every route and transport, and logs it once per interval (orchestra.outages)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import psycopg_pool
import pytest
import redis
from django.core.cache import caches
from django.db import OperationalError as DjangoOperationalError
from django.test import Client
from kombu.exceptions import OperationalError as KombuOperationalError

from orchestra import outages
from tests.conftest import asgi_request
from tests.mcp.helpers import auth, initialize, post, rpc
from tools.mcp import guards

pytestmark = pytest.mark.django_db(transaction=True)  # requests run in worker threads

DEAD_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


def wrapped(inner: BaseException) -> DjangoOperationalError:
    """A database error as Django raises it: psycopg's error as the cause."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise DjangoOperationalError(str(exc)) from exc
    except DjangoOperationalError as outer:
        return outer


@pytest.fixture(autouse=True)
def _no_outage_left_behind() -> Any:
    yield
    for service in (outages.REDIS, outages.DATABASE):
        outages.outage(service).recovered()


@pytest.mark.parametrize(
    ("exc", "service"),
    [
        (redis.ConnectionError("Error 111 connecting"), "redis"),
        (redis.TimeoutError("Timeout reading"), "redis"),
        (psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"), "database"),
        (wrapped(psycopg.OperationalError("server closed the connection unexpectedly")), "database"),
        (wrapped(psycopg.errors.AdminShutdown("terminating connection due to administrator command")), "database"),
        (wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")), "database"),
        # A failing statement is not an outage: it stays a 500 (or the tool's error).
        (wrapped(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")), None),
        (wrapped(psycopg.errors.DeadlockDetected("deadlock detected")), None),
        (ValueError("a bug"), None),
    ],
)
def test_what_counts_as_an_outage(exc: BaseException, service: str | None) -> None:
    assert outages.unavailable_service(exc) == service


def test_the_broker_is_redis_only_with_redis(settings) -> None:
    settings.REDIS_URL = ""
    assert outages.unavailable_service(KombuOperationalError("[Errno 111] Connection refused")) is None
    settings.REDIS_URL = DEAD_REDIS
    assert outages.unavailable_service(KombuOperationalError("[Errno 111] Connection refused")) == "redis"


def test_an_outage_is_logged_once_per_interval_then_once_when_over(settings, caplog, monkeypatch) -> None:
    settings.OUTAGE_LOG_INTERVAL_SECONDS = 10
    clock = [1000.0]
    monkeypatch.setattr(outages.time, "monotonic", lambda: clock[0])
    outage = outages.Outage("redis")
    caplog.set_level(logging.INFO, logger="orchestra.outages")
    for _ in range(500):  # 500 failures in 5 s: one line
        outage.failed(redis.ConnectionError("Error 111 connecting to 127.0.0.1:6391. Connection refused."))
        clock[0] += 0.01
    clock[0] += 6  # past the interval: one more line, with the count
    outage.failed(redis.ConnectionError("Error 111"))
    outage.recovered()
    outage.recovered()  # said once
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("ERROR", "redis unavailable: ConnectionError: Error 111 connecting to 127.0.0.1:6391. Connection refused."),
        (
            "ERROR",
            "redis still unavailable after 11 s: ConnectionError: Error 111 "
            "(500 failed operations since the last report)",
        ),
        ("WARNING", "redis is back after 11.0 s (501 failed operations)"),
    ]
    assert not any(r.exc_info for r in caplog.records)


def test_while_down_one_caller_per_half_second_tries_again(monkeypatch) -> None:
    clock = [50.0]
    monkeypatch.setattr(outages.time, "monotonic", lambda: clock[0])
    outage = outages.Outage("redis")
    assert outage.should_try()
    outage.failed(redis.ConnectionError("down"))
    assert not outage.should_try()
    clock[0] += outages.PROBE_SECONDS
    assert outage.should_try() and not outage.should_try()  # one prober, the others fall back


def test_a_traceback_of_an_outage_never_reaches_the_log() -> None:
    record = logging.LogRecord("channels_redis.pubsub", logging.ERROR, __file__, 1, "Unexpected exception", (), None)
    try:
        raise redis.ConnectionError("Error 111")
    except redis.ConnectionError:
        import sys

        record.exc_info = sys.exc_info()
    assert outages.OutageLogFilter().filter(record) is False
    assert outages.outage(outages.REDIS).is_down()
    other = logging.LogRecord("x", logging.ERROR, __file__, 1, "a bug", (), (ValueError, ValueError("bug"), None))
    assert outages.OutageLogFilter().filter(other) is True


def test_rate_limits_count_per_process_while_redis_is_away(settings) -> None:
    settings.REDIS_URL = DEAD_REDIS  # counters in the (Redis) cache, as with REDIS_URL
    settings.CACHES = {
        "default": {
            "BACKEND": "orchestra.cache.FallbackRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.MCP_RATE_LIMIT_PER_MINUTE = 5
    caches["default"].clear()
    remaining = [guards.organization_rate_limit("acme").remaining for _ in range(7)]
    assert remaining == [4, 3, 2, 1, 0, -1, -2]  # the sixth is refused: the limit holds
    assert outages.outage(outages.REDIS).is_down()


@pytest.fixture
def database_away(monkeypatch) -> None:
    """Every tool call meets a database that went away mid-request."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise wrapped(psycopg.OperationalError("server closed the connection unexpectedly"))

    monkeypatch.setattr("tools.mcp.server.call_tool", fail)
    monkeypatch.setattr("tools.mcp.rest.call_tool", fail)


async def test_mcp_answers_503_with_a_json_rpc_error(alice_token, database_away, caplog) -> None:
    session = await initialize(alice_token)
    response = await post(alice_token, session, rpc("tools/call", {"name": "get_context"}, request_id=7))
    assert response.status == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32010, "message": outages.MESSAGE, "data": {"retryAfter": 5}},
    }
    assert "Traceback" not in caplog.text


async def test_a_bug_is_still_a_500(alice_token, monkeypatch) -> None:
    session = await initialize(alice_token)
    monkeypatch.setattr("tools.mcp.server.call_tool", lambda *a, **k: 1 / 0)
    response = await post(alice_token, session, rpc("tools/call", {"name": "get_context"}))
    assert response.status == 500 and response.json()["error"]["code"] == -32603


async def test_legacy_streams_refuse_to_open_with_503_while_the_database_is_away(alice_token, monkeypatch) -> None:
    def fail(*args: Any) -> Any:
        raise psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr("tools.mcp.sse.open_stream", fail)
    response = await asgi_request("GET", "/mcp/sse", headers=auth(alice_token))
    assert response.status == 503 and response.headers["retry-after"] == "5"


def test_rest_answers_503_in_the_tool_error_shape(alice_token, database_away, caplog) -> None:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {alice_token}"}
    response = Client().post("/api/v1/tools/get_context", data={}, content_type="application/json", **headers)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "unavailable"
    assert not [r for r in caplog.records if r.name == "django.request"], "an ERROR line per request"


def test_pages_answer_503_with_a_page(alice, acme, monkeypatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise wrapped(psycopg.OperationalError("the connection is lost"))

    monkeypatch.setattr("dashboard.people.members.members_of", fail)
    client = Client()
    client.force_login(alice)
    response = client.get("/members/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "Back in a moment" in response.content.decode()


def test_a_library_that_logs_every_attempt_is_heard_once_per_interval(settings, monkeypatch) -> None:
    settings.OUTAGE_LOG_INTERVAL_SECONDS = 10
    clock = [0.0]
    monkeypatch.setattr(outages.time, "monotonic", lambda: clock[0])
    once = outages.OncePerInterval()

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("psycopg.pool", logging.WARNING, __file__, 1, message, ("pool-1",), None)

    assert once.filter(record("error connecting in %r"))
    assert once.filter(record("discarding closed connection"))  # another message: its own budget
    assert not any(once.filter(record("error connecting in %r")) for _ in range(40))
    clock[0] = 11
    later = record("error connecting in %r")
    assert once.filter(later) and later.getMessage() == "error connecting in 'pool-1' (40 similar lines left out)"
