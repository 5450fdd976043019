"""Rules an agent meets: a parent task with open subtasks is not completed silently,
non-Latin names keep their letters in slugs, and list tools work without the filters
their schemas do not require."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.tasks.models import Task


@pytest.fixture
def apollo(call, alice_id) -> dict[str, Any]:
    return ok(call(alice_id, "create_project", name="Apollo"))


def task(call, identity, title: str, **kwargs: Any) -> dict[str, Any]:
    return ok(call(identity, "create_task", title=title, project="apollo", **kwargs))


def statuses() -> dict[str, str]:
    return dict(Task.unscoped.values_list("title", "status"))


def test_a_parent_with_open_subtasks_is_refused_with_them_listed(call, alice_id, acme, apollo) -> None:
    parent = task(call, alice_id, "parent")
    child = task(call, alice_id, "child", parent=parent["id"])
    grandchild = task(call, alice_id, "grandchild", parent=child["id"])
    finished = task(call, alice_id, "finished", parent=parent["id"])
    ok(call(alice_id, "complete_task", task=finished["id"]))
    before = (statuses(), Activity.unscoped.count())

    for outcome in (
        call(alice_id, "complete_task", task=parent["id"]),
        call(alice_id, "update_task", task=parent["id"], status="done"),
    ):
        assert error_code(outcome) == "conflict"
        error = outcome.structured["error"]
        assert "2 open subtask(s)" in error["message"] and "close_subtasks=true" in error["message"]
        assert {row["id"] for row in error["details"]["open_subtasks"]} == {child["id"], grandchild["id"]}
    assert (statuses(), Activity.unscoped.count()) == before

    # Asked to, it closes them too, each with its own audit row.
    ok(call(alice_id, "update_task", task=grandchild["id"], status="blocked"))
    done = ok(call(alice_id, "complete_task", task=parent["id"], close_subtasks=True))
    assert done["status"] == "done"
    assert set(statuses().values()) == {"done"}
    closed = Activity.unscoped.get(target_id=grandchild["id"], type="task.completed")
    assert closed.metadata["closed_with"] == parent["id"]
    assert closed.metadata["status"] == {"from": "blocked", "to": "done"}


def test_a_parent_whose_subtasks_are_closed_completes(call, alice_id, acme, apollo) -> None:
    parent = task(call, alice_id, "parent")
    child = task(call, alice_id, "child", parent=parent["id"])
    ok(call(alice_id, "update_task", task=child["id"], status="cancelled"))
    gone = task(call, alice_id, "deleted child", parent=parent["id"])
    ok(call(alice_id, "delete_task", task=gone["id"]))
    assert ok(call(alice_id, "complete_task", task=parent["id"]))["status"] == "done"


@pytest.mark.parametrize(
    "name, slug",
    [
        ("東京 チーム", "東京-チーム"),
        ("Проект Альфа", "проект-альфа"),
        ("Café Backend", "cafe-backend"),  # Latin stays ASCII, as before
        ("🚀", "item"),
    ],
)
def test_slugs_keep_non_latin_letters(call, alice_id, acme, name, slug) -> None:
    first = ok(call(alice_id, "create_project", name=name))
    assert first["slug"] == slug
    assert ok(call(alice_id, "create_project", name=name))["slug"] == f"{slug}-2"
    # The slug addresses the row, like any other.
    assert ok(call(alice_id, "get_project", project=slug))["id"] == first["id"]
    agent = ok(call(alice_id, "create_agent", name=name, project=slug))
    assert agent["slug"] == slug


def test_list_specs_without_a_project_lists_the_organizations(call, alice_id, charlie_id, acme, globex, apollo) -> None:
    ok(call(alice_id, "create_project", name="Hermes"))
    ok(call(alice_id, "create_spec", project="apollo", title="A"))
    ok(call(alice_id, "create_spec", project="hermes", title="H"))
    ok(call(charlie_id, "create_project", name="Secret"))
    ok(call(charlie_id, "create_spec", project="secret", title="S"))
    assert sorted(s["title"] for s in ok(call(alice_id, "list_specs"))["items"]) == ["A", "H"]
    assert [s["title"] for s in ok(call(alice_id, "list_specs", project="hermes"))["items"]] == ["H"]
