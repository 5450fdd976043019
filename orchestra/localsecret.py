"""A per-checkout secret key for local use, so nobody has to invent one to try Orchestra."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def local_secret_key(var_dir: Path) -> str:
    """Return the key kept in var/secret_key, creating it once.

    Several processes may start together (server, worker, beat): the key is written
    to a private temporary file and linked into place, so the first one wins and
    everybody reads the same complete key.
    """
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = var_dir / f".secret_key.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
