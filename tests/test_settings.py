"""Settings come from the environment and fail loudly on bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from orchestra.embedded_pg.server import shared_buffers_mib, write_settings
from tests.conftest import ROOT

PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'cache': s.CACHES['default']['BACKEND'], "
    "'broker': s.CELERY_BROKER_URL, 'engine': s.DATABASES['default']['ENGINE'], 'hosts': s.ALLOWED_HOSTS, "
    "'db_host': s.DATABASES['default'].get('HOST'), 'forwarded': s.FORWARDED_ALLOW_IPS}))"
)


def load(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "APP_URL", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "orchestra.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_needs_no_server() -> None:
    result = load({})
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["engine"] == "orchestra.embedded_pg"
    assert config["layer"].endswith("InMemoryChannelLayer") and config["cache"].endswith("LocMemCache")
    assert config["broker"] == "filesystem://"


def test_redis_url_switches_layer_cache_and_broker() -> None:
    result = load(
        {"REDIS_URL": "redis://127.0.0.1:6379/3", "DATABASE_URL": "postgres://u:p@db.internal:5432/orchestra"}
    )
    config = json.loads(result.stdout)
    assert "Redis" in config["layer"] and config["cache"].endswith("RedisCache")
    assert config["broker"] == "redis://127.0.0.1:6379/3"
    assert config["engine"] == "orchestra.postgres"  # Django's, failing fast in an outage


def test_app_url_sets_allowed_hosts() -> None:
    result = load({"APP_URL": "https://orchestra.example.com", "SECRET_KEY": "x" * 50})
    assert "orchestra.example.com" in json.loads(result.stdout)["hosts"]


def test_forwarded_allow_ips_takes_none_addresses_networks_or_a_star() -> None:
    # By default no peer is a proxy: X-Forwarded-For is believed from nobody.
    assert json.loads(load({}).stdout)["forwarded"] == []
    assert json.loads(load({"FORWARDED_ALLOW_IPS": "None"}).stdout)["forwarded"] == []
    result = load({"FORWARDED_ALLOW_IPS": "10.0.0.1, 10.1.0.0/16"})
    assert json.loads(result.stdout)["forwarded"] == ["10.0.0.1", "10.1.0.0/16"]
    assert json.loads(load({"FORWARDED_ALLOW_IPS": "*"}).stdout)["forwarded"] == ["*"]


def test_socket_directory_in_database_url_is_decoded() -> None:
    result = load({"DATABASE_URL": "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/orchestra"})
    assert json.loads(result.stdout)["db_host"] == "/var/run/postgresql"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"APP_URL": "not a url"}, "APP_URL"),
        ({"APP_URL": "https://orchestra.example.com"}, "SECRET_KEY"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL"),
        ({"DB_POOL_MIN_SIZE": "5", "DB_POOL_MAX_SIZE": "2"}, "DB_POOL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"MCP_RATE_LIMIT_PER_MINUTE": "0"}, "MCP_RATE_LIMIT_PER_MINUTE"),
        ({"MCP_RATE_LIMIT_PER_MINUTE": "lots"}, "invalid literal"),
        ({"DEBUG": "perhaps"}, "DEBUG|perhaps|invalid"),
        ({"FORWARDED_ALLOW_IPS": "127.0.0.1,my-proxy"}, "FORWARDED_ALLOW_IPS"),
        ({"API_MAX_BODY_BYTES": "0"}, "API_MAX_BODY_BYTES"),
        ({"WEB_MAX_BODY_BYTES": "-1"}, "WEB_MAX_BODY_BYTES"),
        ({"HTTP_HEADER_TIMEOUT_SECONDS": "0"}, "HTTP_HEADER_TIMEOUT_SECONDS"),
        ({"HTTP_BODY_TIMEOUT_SECONDS": "soon"}, "could not convert"),
        ({"FORWARDED_ALLOW_IPS": ""}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.1,,10.0.0.2"}, "FORWARDED_ALLOW_IPS"),
        ({"TASK_REDELIVERY_SECONDS": "2"}, "TASK_REDELIVERY_SECONDS"),
        ({"OUTAGE_RETRY_AFTER_SECONDS": "0"}, "OUTAGE_RETRY_AFTER_SECONDS"),
        ({"TASK_CLAIM_TIMEOUT_SECONDS": "59"}, "TASK_CLAIM_TIMEOUT_SECONDS"),
        ({"EMBEDDING_THREADS": "0"}, "EMBEDDING_THREADS"),
    ],
)
def test_bad_values_fail_loudly_at_start(env, message) -> None:
    result = load(env)
    assert result.returncode != 0
    assert any(word in result.stderr for word in message.split("|")), result.stderr[-500:]


STRIPE_SK = "sk_test_51StandInSecretKey0123456789abcdefXYZ"
STRIPE_PK = "pk_test_51StandInPublishableKey0123456789abc"
STRIPE_WHSEC = "whsec_standinWebhookSigningSecret0123456789"


@pytest.mark.parametrize(
    "env, missing",
    [
        ({"STRIPE_SECRET_KEY": STRIPE_SK}, "STRIPE_KEY, STRIPE_WEBHOOK_SECRET not"),
        ({"STRIPE_SECRET_KEY": STRIPE_SK, "STRIPE_KEY": STRIPE_PK}, "STRIPE_WEBHOOK_SECRET not"),
        ({"STRIPE_SECRET_KEY": STRIPE_SK, "STRIPE_WEBHOOK_SECRET": STRIPE_WHSEC}, "STRIPE_KEY not"),
        ({"STRIPE_KEY": STRIPE_PK}, "STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET not"),
        ({"STRIPE_WEBHOOK_SECRET": STRIPE_WHSEC}, "STRIPE_SECRET_KEY, STRIPE_KEY not"),
    ],
)
def test_half_a_stripe_configuration_stops_the_process(env, missing) -> None:
    result = load(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: Stripe is half configured" in result.stderr, result.stderr[-500:]
    assert missing in result.stderr


@pytest.mark.parametrize(
    "env, message",
    [
        ({"STRIPE_SECRET_KEY": STRIPE_PK, "STRIPE_KEY": STRIPE_PK, "STRIPE_WEBHOOK_SECRET": STRIPE_WHSEC}, "sk_"),
        ({"STRIPE_SECRET_KEY": STRIPE_SK, "STRIPE_KEY": STRIPE_SK, "STRIPE_WEBHOOK_SECRET": STRIPE_WHSEC}, "pk_"),
        ({"STRIPE_SECRET_KEY": STRIPE_SK, "STRIPE_KEY": STRIPE_PK, "STRIPE_WEBHOOK_SECRET": "secret"}, "whsec_"),
        ({"STRIPE_API_HOST": "api.stripe.com"}, "STRIPE_API_HOST"),
    ],
)
def test_stripe_values_in_the_wrong_place_fail_loudly(env, message) -> None:
    result = load(env)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_the_whole_stripe_configuration_loads() -> None:
    result = load({"STRIPE_SECRET_KEY": STRIPE_SK, "STRIPE_KEY": STRIPE_PK, "STRIPE_WEBHOOK_SECRET": STRIPE_WHSEC})
    assert result.returncode == 0, result.stderr[-500:]


def test_connections_have_a_statement_timeout(db) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"


def test_connection_pool_is_on(db) -> None:
    assert connection.pool is not None
    assert connection.settings_dict["OPTIONS"]["pool"]["max_size"] >= 1


def test_pgvector_is_available(db) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        version = cursor.fetchone()[0]
    assert tuple(int(p) for p in version.split(".")[:2]) >= (0, 8)


def test_the_embedded_server_gets_an_eighth_of_the_machine_for_its_buffers(db) -> None:
    assert shared_buffers_mib(1 << 30) == 128  # PostgreSQL's default is the floor
    assert shared_buffers_mib(24 << 30) == 3072
    assert shared_buffers_mib(256 << 30) == 4096
    if connection.settings_dict["ENGINE"] != "orchestra.embedded_pg":
        return  # DATABASE_URL: the operator's server, the operator's settings
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'")
        buffers = cursor.fetchone()[0]
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert buffers == shared_buffers_mib(machine) << 20


def test_embedded_settings_are_written_once_and_included(tmp_path) -> None:
    (tmp_path / "postgresql.conf").write_text("# initdb's\n")
    assert write_settings(tmp_path, machine_bytes=16 << 30) is True
    assert (tmp_path / "orchestra.conf").read_text() == "shared_buffers = '2048MB'\n"
    assert write_settings(tmp_path, machine_bytes=16 << 30) is False  # nothing to restart for
    assert (tmp_path / "postgresql.conf").read_text().count("include_if_exists = 'orchestra.conf'") == 1
    assert write_settings(tmp_path, machine_bytes=32 << 30) is True
    assert (tmp_path / "orchestra.conf").read_text() == "shared_buffers = '4096MB'\n"


def test_a_killed_workers_task_is_redelivered_within_a_minute_by_default() -> None:
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'options': s.CELERY_BROKER_TRANSPORT_OPTIONS, 'soft': s.CELERY_TASK_SOFT_TIME_LIMIT, "
        "'hard': s.CELERY_TASK_TIME_LIMIT, 'reject': s.CELERY_TASK_REJECT_ON_WORKER_LOST}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TASK_REDELIVERY_SECONDS")}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "orchestra.settings", "REDIS_URL": "redis://127.0.0.1:6379/3"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    config = json.loads(result.stdout)
    options = config["options"]
    sweep = options["unacked_restore_interval"] * options["unacked_restore_throttle"]
    assert options["visibility_timeout"] + sweep < 60
    # A task is stopped before it could be handed to a second worker.
    assert config["soft"] < config["hard"] < options["visibility_timeout"]
    assert config["reject"] is True


APP_URL_PROBE = "import django; django.setup(); from django.conf import settings as s; print(s.APP_URL)"


def app_url(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("APP_URL", "PORT", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "-c", APP_URL_PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "orchestra.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_local_run_derives_app_url_from_its_port() -> None:
    assert app_url({}).stdout.strip() == "http://127.0.0.1:8000"
    assert app_url({"PORT": "8101"}).stdout.strip() == "http://127.0.0.1:8101"
    explicit = app_url({"PORT": "8101", "APP_URL": "https://orchestra.example.com", "SECRET_KEY": "x" * 50})
    assert explicit.stdout.strip() == "https://orchestra.example.com"
    for bad in ("0", "70000", "eighty"):
        result = app_url({"PORT": bad})
        assert result.returncode != 0 and "PORT" in result.stderr, bad


def test_serve_on_another_port_names_it_in_every_snippet(settings) -> None:
    from accounts.snippets import mcp_json
    from orchestra.web_server import follow_port

    settings.APP_URL_EXPLICIT = False
    follow_port(8101)
    assert settings.APP_URL == "http://127.0.0.1:8101"
    assert "http://127.0.0.1:8101/mcp" in json.dumps(mcp_json("orch_live_x", "http"))
    settings.APP_URL_EXPLICIT = True
    follow_port(8202)
    assert settings.APP_URL == "http://127.0.0.1:8101"
