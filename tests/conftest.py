"""Shared fixtures: three users (alice and bob share Acme, charlie is in Globex),
tokens, tool calls, an in-process ASGI client and a real server (`manage.py serve`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from channels.testing import ApplicationCommunicator
from django.core.cache import cache

from accounts.auth import TokenIdentity, authenticate_token, forget
from accounts.models import Organization, Role, User
from accounts.services import membership_set, organization_create, token_create
from orchestra.asgi import application
from tests.github_fixtures import github, github_server, github_standin  # noqa: F401 (fixtures)
from tools.mcp.dispatch import call_tool
from tools.mcp.guards import process_counters
from tools.mcp.registry import ToolOutcome

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pool(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    # Worker threads hand their connections back to the pool, which keeps them open;
    # close it before pytest-django drops the test database.
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        # Control-bus listeners of finished test event loops may still hold a
        # connection each: end them, so the test database can be dropped.
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        for conn in connections.all():
            conn.close_pool()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Real hashing costs ~0.3 s per user; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # Rate-limit and throttle counters live in the cache, token checks in the auth
    # cache: no test inherits another's.
    cache.clear()
    process_counters.clear()
    forget()
    yield
    cache.clear()
    process_counters.clear()
    forget()


def within_one_rate_window(seconds_needed: float) -> None:
    """Rate limits count in fixed one-minute windows: a test that expects its requests
    to be counted together first waits, if need be, for a window with room left."""
    from tools.mcp.guards import WINDOW_SECONDS

    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < seconds_needed:
        time.sleep(left + 0.05)


@pytest.fixture
def one_rate_window() -> None:
    within_one_rate_window(10)


@pytest.fixture
def alice(db: Any) -> User:
    return User.objects.create_user("alice@example.com", "pw-alice-123456", name="Alice")


@pytest.fixture
def bob(db: Any) -> User:
    return User.objects.create_user("bob@example.com", "pw-bob-123456", name="Bob")


@pytest.fixture
def charlie(db: Any) -> User:
    return User.objects.create_user("charlie@example.com", "pw-charlie-123456", name="Charlie")


@pytest.fixture
def acme(alice: User, bob: User) -> Organization:
    org = organization_create(name="Acme", owner=alice)
    membership_set(organization=org, user=bob, role=Role.MEMBER)
    return org


@pytest.fixture
def globex(charlie: User) -> Organization:
    return organization_create(name="Globex", owner=charlie)


IssueToken = Callable[..., str]


@pytest.fixture
def issue_token() -> IssueToken:
    """issue_token(user, org, mode="live", scopes=None, ...) -> the raw token."""

    def issue(user: User, org: Organization, **kwargs: Any) -> str:
        kwargs.setdefault("name", "test token")
        return token_create(organization=org, user=user, **kwargs).raw

    return issue


@pytest.fixture
def alice_token(alice: User, acme: Organization, issue_token: IssueToken) -> str:
    return issue_token(alice, acme)


@pytest.fixture
def charlie_token(charlie: User, globex: Organization, issue_token: IssueToken) -> str:
    return issue_token(charlie, globex)


@pytest.fixture
def alice_id(alice_token: str) -> TokenIdentity:
    return authenticate_token(alice_token)


@pytest.fixture
def charlie_id(charlie_token: str) -> TokenIdentity:
    return authenticate_token(charlie_token)


Call = Callable[..., ToolOutcome]


@pytest.fixture
def call() -> Call:
    """call(identity, "tool_name", **arguments) -> ToolOutcome (no HTTP)."""

    def run(identity: TokenIdentity, tool_name: str, /, **arguments: Any) -> ToolOutcome:
        return call_tool(tool_name, arguments, identity)

    return run


def ok(outcome: ToolOutcome) -> dict[str, Any]:
    assert not outcome.is_error, outcome.structured
    return outcome.structured


def error_code(outcome: ToolOutcome) -> str:
    assert outcome.is_error, outcome.structured
    return str(outcome.structured["error"]["code"])


# --- in-process HTTP through the real ASGI application ---------------------------------


@dataclass
class AsgiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_scope(
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    *,
    query_string: str = "",
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> dict[str, Any]:
    """An ASGI HTTP scope as the web server builds it (headers may repeat)."""
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string.encode(),
        "root_path": "",
        "scheme": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": client,
        "server": ("127.0.0.1", 8000),
    }


DEFAULT_HEADERS = {
    "host": "127.0.0.1:8000",
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
}


async def asgi_request(
    method: str,
    path: str,
    *,
    body: bytes | str | dict[str, Any] | list[Any] = b"",
    headers: dict[str, str] | None = None,
    extra_headers: list[tuple[str, str]] | None = None,
    query_string: str = "",
    client: tuple[str, int] = ("127.0.0.1", 50000),
    timeout: float = 10,
) -> AsgiResponse:
    """One request through orchestra.asgi.application, the way the web server would send it.

    (orchestra.asgi is imported at the top of this module: importing it runs
    django.setup(), which reconfigures logging and would drop pytest's capture
    handler if it happened inside a test.)"""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    header_list = [*{**DEFAULT_HEADERS, **(headers or {})}.items(), *(extra_headers or [])]
    communicator = ApplicationCommunicator(
        application, http_scope(method, path, header_list, query_string=query_string, client=client)
    )
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout)
    assert start["type"] == "http.response.start", start
    chunks = []
    while True:
        message = await communicator.receive_output(timeout)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout)
    return AsgiResponse(
        status=start["status"],
        headers={k.decode().lower(): v.decode() for k, v in start["headers"]},
        body=b"".join(chunks),
    )


# --- a real server: `manage.py serve`, as users run it ----------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url_for_subprocess() -> str:
    """The test database as a DATABASE_URL another process can use."""
    from django.db import connection

    params = connection.get_connection_params()
    host = params.get("host") or "localhost"
    user = params.get("user") or "postgres"
    password = params.get("password") or ""
    port = params.get("port") or 5432
    auth = quote(user) + (f":{quote(password)}" if password else "")
    return f"postgres://{auth}@{quote(host, safe='')}:{port}/{params['dbname']}"


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(tmp_dir: Path, extra_env: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "MCP_TEST_TOOLS": "true",
        "LOG_LEVEL": "INFO",
        "AUTH_FAILURE_LIMIT_PER_MINUTE": "100000",
        "MCP_RATE_LIMIT_PER_MINUTE": "100000",
        "MCP_SSE_KEEPALIVE_SECONDS": "1",
        # The public URL (APP_URL, when not given) names the port served: OAuth's
        # resource and issuer must be the address clients actually use.
        "PORT": str(port),
        **(extra_env or {}),
    }
    log_path = tmp_dir / f"server-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log_path.read_text()}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                return LiveServer(url=url, process=process, log_path=log_path)
        except httpx2.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server did not start:\n{log_path.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def live_server_process(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        server = start_server(tmp_path_factory.mktemp("server"))
    yield server
    stop_server(server)


@pytest.fixture
def live(live_server_process: LiveServer, transactional_db: Any) -> LiveServer:
    """The live server, with this test's rows committed so it can see them."""
    return live_server_process


# --- a real Celery worker --------------------------------------------------------------


@dataclass
class Worker:
    env: dict[str, str]
    output: str = ""

    def run_python(self, code: str) -> subprocess.CompletedProcess[str]:
        """Run `code` in another process with the worker's settings (as a producer)."""
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60
        )


@contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[Worker]:
    """A Celery worker process with `env`; its log is in `.output` once the block ends."""
    worker = Worker(env={**os.environ, "DATABASE_URL": database_url_for_subprocess(), **env})
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "orchestra", "worker", "--concurrency", "1", "--loglevel", "INFO"],
        cwd=ROOT,
        env=worker.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        process.terminate()
        worker.output = process.communicate(timeout=20)[0].decode(errors="replace")


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.3)
    return condition()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test's folder gives its marker: `-m e2e` selects the browser tests and
    `-m acceptance` the tests against a real server, wherever a marker was forgotten."""
    for item in items:
        folder = item.path.relative_to(ROOT / "tests").parts[0]
        if folder in ("e2e", "acceptance"):
            item.add_marker(folder)
