"""Django's PostgreSQL backend, made to fail fast and come back by itself when the
server goes away (a restart, a failover) under load.

- The first query that finds the server gone marks the database unavailable
  (orchestra.outages), there and then, whatever code catches the error later.
- While it is unavailable, a request waits at most OUTAGE_POOL_WAIT_SECONDS for a
  connection instead of the pool's 10 s (which is for a busy pool, not a dead
  server), so it is answered 503 at once; the pool's own attempts to reconnect go on
  behind it.
- Those attempts give up after the pool's `reconnect_timeout` (2 s in
  orchestra.settings; psycopg-pool's default is five minutes with exponential backoff:
  after a long outage the pool would retry only every few tens of seconds); the next
  request that needs a connection starts a new attempt at once. So the pool reconnects
  within about a second of the server.
- The first new connection marks the database available again.
"""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import Any

from django.db.backends.postgresql import base
from django.db.utils import DatabaseErrorWrapper

from orchestra import outages

# Long enough to take a connection that is ready (or being handed back), too short to
# be noticed: requests that queue behind one another (the token check of one busy
# token, say) must not add up to seconds.
OUTAGE_POOL_WAIT_SECONDS = 0.05


class _OutageAwareErrors(DatabaseErrorWrapper):
    """Django's error wrapper, which also notes an unreachable server at once."""

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_value is not None:
            outages.report(exc_value)
        super().__exit__(exc_type, exc_value, traceback)


class DatabaseWrapper(base.DatabaseWrapper):
    @cached_property
    def wrap_database_errors(self) -> DatabaseErrorWrapper:
        return _OutageAwareErrors(self)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool
        if pool is not None:
            # One pool per process, shared by its threads: the outage is too.
            down = outages.outage(outages.DATABASE).is_down()
            pool.timeout = OUTAGE_POOL_WAIT_SECONDS if down else self.settings_dict["OPTIONS"]["pool"]["timeout"]
        return super().get_new_connection(conn_params)

    def _configure_connection(self, connection: Any) -> bool:
        # Called by the pool for each connection it opens: the server is back.
        commit: bool = super()._configure_connection(connection)  # type: ignore[misc]  # not in django-stubs
        outages.outage(outages.DATABASE).recovered()
        return commit
