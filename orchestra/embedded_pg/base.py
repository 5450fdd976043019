"""Orchestra's PostgreSQL backend (orchestra.postgres), with the embedded server started
on first connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from orchestra.embedded_pg.server import ensure_server
from orchestra.postgres import base


def _data_dir() -> Path:
    if settings.EMBEDDED_DB_DIR is None:
        raise ImproperlyConfigured("the embedded backend needs EMBEDDED_DB_DIR (set when DATABASE_URL is not)")
    return Path(settings.EMBEDDED_DB_DIR)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        # Plain connections and the connection pool both build their parameters
        # here, so this is the one place where the server must be running.
        params["host"] = ensure_server(_data_dir(), params["dbname"])
        return params

    def _nodb_cursor(self):  # type: ignore[no-untyped-def]
        # Creating the (test) database connects to the `postgres` maintenance
        # database of the same server, which must be running too.
        self.settings_dict["HOST"] = ensure_server(_data_dir())
        return super()._nodb_cursor()
