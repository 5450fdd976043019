"""Project tallies: how many tasks (by status) and memories a project has, kept by
statement-level triggers on tasks_task and memory_memory in the same transaction as the
change (decision 0026). Each trigger sums its statement's change per (project, bucket)
from the transition tables and applies it with one INSERT .. ON CONFLICT, in key order
(two transactions moving tasks in opposite directions lock the same rows in the same
order, so they queue instead of deadlocking). Buckets are disjoint (a task's status; a
memory is "active" or "archived"), so a kind's total is the sum of its buckets. A
bucket that reaches zero (or below, when an organization's purge removes the tallies
before the rows) loses its row. Existing rows are counted once, at the end."""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


# What one row contributes, per table: (kind, its bucket, when it counts). A task counts
# in its status while it is live; a memory of a project counts as "active" or "archived".
# Organization-level memories (no project) are not tallied.
CONTRIBUTIONS = {
    "tasks_task": ("tasks", "status", "deleted_at IS NULL"),
    "memory_memory": ("memories", "CASE WHEN archived THEN 'archived' ELSE 'active' END", "project_id IS NOT NULL"),
}


def _rows(table: str, source: str, sign: int) -> str:
    _kind, bucket, condition = CONTRIBUTIONS[table]
    return f"SELECT organization_id, project_id, {bucket} AS bucket, {sign} AS n FROM {source} WHERE {condition}"


def _apply(table: str, sources: list[tuple[str, int]]) -> str:
    kind = CONTRIBUTIONS[table][0]
    rows = "\n            UNION ALL ".join(_rows(table, source, sign) for source, sign in sources)
    return f"""
        INSERT INTO projects_projecttally AS tally (organization_id, project_id, kind, bucket, n)
        SELECT organization_id, project_id, '{kind}', bucket, sum(n) FROM (
            {rows}
        ) AS change
        GROUP BY organization_id, project_id, bucket
        HAVING sum(n) <> 0
        ORDER BY project_id, bucket
        ON CONFLICT (project_id, kind, bucket) DO UPDATE SET n = tally.n + EXCLUDED.n;"""


def _trigger(table: str) -> str:
    function = f"projects_tally_{table}"
    kind = CONTRIBUTIONS[table][0]
    return f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{_apply(table, [("new_rows", 1)])}
    ELSIF TG_OP = 'DELETE' THEN{_apply(table, [("old_rows", -1)])}
    ELSE{_apply(table, [("new_rows", 1), ("old_rows", -1)])}
    END IF;
    DELETE FROM projects_projecttally WHERE n <= 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER {function}_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION projects_tally_truncated('{kind}');
"""


def _untrigger(table: str) -> str:
    function = f"projects_tally_{table}"
    return "".join(
        f"DROP TRIGGER IF EXISTS {function}_{event} ON {table};\n"
        for event in ("insert", "update", "delete", "truncate")
    ) + (f"DROP FUNCTION IF EXISTS {function}();\n")


# Counting what is there when the migration runs (the triggers count from then on).
BACKFILL = "".join(
    f"""
INSERT INTO projects_projecttally (organization_id, project_id, kind, bucket, n)
SELECT organization_id, project_id, '{kind}', bucket, sum(n) FROM ({_rows(table, table, 1)}) AS existing
GROUP BY organization_id, project_id, bucket;"""
    for table, (kind, _bucket, _condition) in CONTRIBUTIONS.items()
)

# TRUNCATE fires no row or statement trigger of its own kind: it empties the kind's tallies.
TRUNCATED = """
CREATE FUNCTION projects_tally_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM projects_projecttally WHERE kind = TG_ARGV[0];
    RETURN NULL;
END
$$;
"""

FORWARD = TRUNCATED + "".join(_trigger(table) for table in CONTRIBUTIONS) + BACKFILL
BACKWARD = (
    "".join(_untrigger(table) for table in CONTRIBUTIONS) + "DROP FUNCTION IF EXISTS projects_tally_truncated();\n"
)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_mcptoken_kind_mcptoken_oauth_client_id"),
        ("projects", "0003_unicode_slugs"),
        ("tasks", "0004_task_status_labels"),
        ("memory", "0007_supersedes"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProjectTally",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("kind", models.CharField(choices=[("tasks", "Tasks"), ("memories", "Memories")], max_length=10)),
                ("bucket", models.CharField(max_length=20)),
                ("n", models.BigIntegerField()),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.organization"
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="projects.project"
                    ),
                ),
            ],
            options={
                "abstract": False,
                "base_manager_name": "scoped_base",
                "indexes": [models.Index(condition=models.Q(("n__lte", 0)), fields=["n"], name="tally_spent")],
                "constraints": [
                    models.UniqueConstraint(fields=("project", "kind", "bucket"), name="one_tally_per_bucket")
                ],
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("scoped_base", django.db.models.manager.Manager()),
            ],
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
