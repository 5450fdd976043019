"""Counters recomputed from the rows themselves: for the migration that starts them
and for `manage.py recountusage` (an operator's repair). Never on a request's path:
this counts rows, so its cost grows with the organization.

What counts (the same rules the writing services follow):
- members: memberships, plus invitations neither accepted nor revoked, of live organizations;
- projects: active projects (archiving gives the slot back);
- tokens: tokens not revoked, a test token on its sandbox's counter;
- agents: agents not deleted;
- tasks: tasks created in the current calendar month (UTC);
- memory_bytes: the UTF-8 bytes of every memory's content.

Plain SQL over the domains' tables: billing sits below the tool domains (their
services call it) and cannot import their models.
"""

from __future__ import annotations

from typing import Any

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

from billing.models import UsageCounter

_TABLE = UsageCounter._meta.db_table

_COUNTS = """
SELECT organization_id, 'members', '', count(*) FROM (
    SELECT organization_id FROM accounts_membership
    UNION ALL
    SELECT organization_id FROM accounts_invitation WHERE accepted_at IS NULL AND revoked_at IS NULL
) AS seats GROUP BY organization_id
UNION ALL
SELECT organization_id, 'projects', '', count(*) FROM projects_project WHERE status = 'active' GROUP BY organization_id
UNION ALL
SELECT CASE WHEN t.mode = 'test' THEN s.id ELSE t.organization_id END, 'tokens', '', count(*)
  FROM accounts_mcptoken t LEFT JOIN accounts_organization s ON s.live_organization_id = t.organization_id
 WHERE t.revoked_at IS NULL GROUP BY 1
UNION ALL
SELECT organization_id, 'agents', '', count(*) FROM agents_agent WHERE deleted_at IS NULL GROUP BY organization_id
UNION ALL
SELECT organization_id, 'tasks', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'), count(*) FROM tasks_task
 WHERE created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' GROUP BY organization_id
UNION ALL
SELECT organization_id, 'memory_bytes', '', coalesce(sum(octet_length(content)), 0) FROM memory_memory
 GROUP BY organization_id
"""


def recount(*, organization_ids: list[Any] | None = None, connection: BaseDatabaseWrapper | None = None) -> int:
    """Set the current counters of the given organizations (all when None) to what
    their rows say; returns how many counters were written."""
    connection = connection or default_connection
    only = "" if organization_ids is None else "AND organization_id = ANY(%(orgs)s)"
    # Resources with no rows left count zero.
    clear = f"UPDATE {_TABLE} SET used = 0 WHERE period IN (%(month)s, '') {only}"  # noqa: S608 (our table)
    fill = f"""
    WITH counts(organization_id, resource, period, used) AS ({_COUNTS})
    INSERT INTO {_TABLE} AS c (organization_id, resource, period, used)
    SELECT organization_id, resource, period, used FROM counts WHERE true {only}
    ON CONFLICT (organization_id, resource, period) DO UPDATE SET used = EXCLUDED.used
    """  # noqa: S608 (table names are ours; ids are parameters)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')")
        month = cursor.fetchone()[0]
        params = {"orgs": organization_ids, "month": month}
        cursor.execute(clear, params)
        cursor.execute(fill, params)
        return cursor.rowcount
