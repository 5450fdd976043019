"""The tallies the database keeps for get_project (ProjectTally, decision 0026) match the
rows counted afresh after every kind of write: the tools; bulk inserts, updates and
deletes that go around them; a task moved to another project; soft and hard deletes;
archived and organization-level memories; TRUNCATE; the migration's own count of existing rows;
two transactions moving tasks in opposite directions at once. A write that changes
nothing counted leaves the tally rows alone (it locks none)."""

from __future__ import annotations

import importlib
import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from memory.models import Memory
from orchestra.tenancy import tenant_scope
from tests.conftest import ok
from tools.projects.models import Project, ProjectTally
from tools.tasks.models import LIVE, Task, TaskStatus

MIGRATION = importlib.import_module("tools.projects.migrations.0004_project_tallies")


def counted(project_id: Any) -> dict[tuple[str, str], int]:
    """Every (kind, bucket) of a project, counted from its rows now."""
    found: Counter[tuple[str, str]] = Counter()
    for status in Task.unscoped.filter(LIVE, project_id=project_id).values_list("status", flat=True):
        found["tasks", status] += 1
    for archived in Memory.unscoped.filter(project_id=project_id).values_list("archived", flat=True):
        found["memories", "archived" if archived else "active"] += 1
    return {key: n for key, n in found.items() if n}


def tallied(project_id: Any) -> dict[tuple[str, str], int]:
    return {
        (kind, bucket): n
        for kind, bucket, n in ProjectTally.unscoped.filter(project_id=project_id).values_list("kind", "bucket", "n")
    }


def assert_true(*project_ids: Any) -> None:
    for project_id in project_ids:
        assert tallied(project_id) == counted(project_id)
    assert not ProjectTally.unscoped.filter(n__lte=0).exists()


def test_the_tools_keep_the_tallies_that_get_project_shows(call, alice_id, acme) -> None:
    apollo = ok(call(alice_id, "create_project", name="Apollo"))
    tasks = [ok(call(alice_id, "create_task", title=f"task {n}", project="apollo")) for n in range(4)]
    ok(call(alice_id, "update_task", task=tasks[0]["id"], status="in_progress"))
    ok(call(alice_id, "complete_task", task=tasks[1]["id"]))
    ok(call(alice_id, "delete_task", task=tasks[2]["id"]))
    ok(call(alice_id, "update_task", task=tasks[3]["id"], title="renamed, still to do"))
    kept = ok(
        call(alice_id, "store_memory", content="The board refreshes on activity.", scope="project", project="apollo")
    )
    gone = ok(call(alice_id, "store_memory", content="Deploys go out on Tuesdays.", scope="project", project="apollo"))
    ok(call(alice_id, "store_memory", content="The organization's own memory, of no project."))
    ok(call(alice_id, "delete_memory", memory=gone["memory"]["id"]))

    stats = ok(call(alice_id, "get_project", project="apollo"))["stats"]
    assert stats["tasks"] == {"todo": 1, "in_progress": 1, "done": 1}
    assert stats["memories"] == {"total": 1}
    with tenant_scope(acme):
        assert_true(apollo["id"])
        assert tallied(apollo["id"]) == {
            ("tasks", "todo"): 1,
            ("tasks", "in_progress"): 1,
            ("tasks", "done"): 1,
            ("memories", "active"): 1,
        }
    assert kept["memory"]["id"]


def test_writes_that_go_around_the_tools_keep_them_too(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    ok(call(alice_id, "create_project", name="Zeus"))
    ok(
        call(
            alice_id, "store_memory", content="A memory the bulk changes start from.", scope="project", project="apollo"
        )
    )
    with tenant_scope(acme):
        apollo, zeus = Project.objects.get(slug="apollo"), Project.objects.get(slug="zeus")
        statuses = list(TaskStatus.values)
        Task.objects.bulk_create(
            [
                Task(organization=acme, project=apollo, title=f"bulk {n}", status=statuses[n % len(statuses)])
                for n in range(40)
            ]
        )
        assert_true(apollo.pk, zeus.pk)
        Task.objects.filter(project=apollo, status="todo").update(status="done")
        Task.objects.filter(project=apollo, status="backlog").update(project=zeus)
        Task.objects.filter(project=apollo, status="blocked").update(deleted_at=timezone.now())
        assert_true(apollo.pk, zeus.pk)
        Task.unscoped.filter(project=apollo, status="blocked").update(deleted_at=None)  # restored
        Task.objects.filter(project=apollo, status="cancelled").delete()
        assert_true(apollo.pk, zeus.pk)

        memory = Memory.objects.get(project=apollo)
        Memory.objects.filter(pk=memory.pk).update(archived=True)
        assert_true(apollo.pk)
        Memory.objects.filter(pk=memory.pk).update(project=zeus)
        assert_true(apollo.pk, zeus.pk)
        Memory.objects.filter(pk=memory.pk).update(project=None)
        assert_true(apollo.pk, zeus.pk)
        assert tallied(zeus.pk).get(("memories", "archived")) is None

        # Everything of a project gone: no tally row is left behind.
        Task.objects.filter(project=zeus).delete()
        assert tallied(zeus.pk) == {}

        # TRUNCATE (which fires no row or statement trigger) empties its kind's tallies.
        Memory.objects.create(organization=acme, project=apollo, scope="project", content="Gone with the table.")
        assert tallied(apollo.pk)[("memories", "active")] == 1
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks
            cursor.execute("TRUNCATE memory_memory CASCADE")
        assert_true(apollo.pk, zeus.pk)
        assert ("tasks", "done") in tallied(apollo.pk)


def test_a_write_that_changes_nothing_counted_leaves_the_tally_rows_alone(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    task = ok(call(alice_id, "create_task", title="Rename me", project="apollo"))
    with tenant_scope(acme):
        versions = list(
            ProjectTally.unscoped.order_by("pk").extra(select={"v": "xmin::text"}).values_list("v", flat=True)
        )
        Task.objects.filter(pk=task["id"]).update(title="Renamed", priority="high")
        Task.objects.filter(pk=task["id"]).update(status="todo")  # the status it has
        after = list(ProjectTally.unscoped.order_by("pk").extra(select={"v": "xmin::text"}).values_list("v", flat=True))
    assert versions and after == versions


def test_the_migration_counts_the_rows_that_were_there(call, alice_id, acme) -> None:
    apollo = ok(call(alice_id, "create_project", name="Apollo"))
    for n in range(3):
        ok(call(alice_id, "create_task", title=f"task {n}", project="apollo"))
    ok(call(alice_id, "store_memory", content="Counted by the backfill as well.", scope="project", project="apollo"))
    with tenant_scope(acme):
        expected = tallied(apollo["id"])
        ProjectTally.unscoped.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(MIGRATION.BACKFILL)
        assert tallied(apollo["id"]) == expected == counted(apollo["id"])


@pytest.mark.django_db(transaction=True)
def test_opposite_moves_at_once_queue_and_both_count(call, alice_id, acme) -> None:
    apollo = ok(call(alice_id, "create_project", name="Apollo"))
    first = ok(call(alice_id, "create_task", title="to do, then done", project="apollo"))
    second = ok(call(alice_id, "create_task", title="done, then to do", project="apollo"))
    ok(call(alice_id, "complete_task", task=second["id"]))
    moved, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with tenant_scope(acme), transaction.atomic():
                Task.objects.filter(pk=first["id"]).update(status="done")
                moved.set()
                release.wait(10)
        finally:
            connection.close()

    def other() -> None:
        try:
            moved.wait(10)
            with tenant_scope(acme):
                Task.objects.filter(pk=second["id"]).update(status="todo")
        finally:
            connection.close()

    threads = [threading.Thread(target=hold), threading.Thread(target=other)]
    for thread in threads:
        thread.start()
    assert moved.wait(10)
    time.sleep(0.3)
    assert threads[1].is_alive()  # waiting on the tally rows the first move holds
    release.set()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads)
    with tenant_scope(acme):
        assert_true(apollo["id"])
        assert tallied(apollo["id"]) == {("tasks", "todo"): 1, ("tasks", "done"): 1}
