"""Validation messages speak of the caller's arguments, never of our types: no union
member tags (`constrained-str`, `RowLink`, `literal[...]`) in a location, one message
for a union that failed as a whole, and the member that got furthest otherwise."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import error_code

INTERNAL = re.compile(r"constrained|RowLink|literal\[|list\[|function-|Extra inputs|Field required")


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            "create_note",
            {"title": "t", "content": "c", "links": [{"type": "bogus", "id": "x"}]},
            [("links.0.type", "should be 'project', 'task'")],
        ),
        ("create_note", {"title": "t", "content": "c", "links": [5]}, [("links.0", "should be a string or an object")]),
        ("create_note", {"title": "t", "content": "c", "links": [{"type": "task"}]}, [("links.0.id", "is required")]),
        ("list_tasks", {"status": ["todo", "gone"]}, [("status.1", "should be 'backlog'")]),
        ("list_tasks", {"status": 5}, [("status", "should be one of 'backlog'")]),
        ("create_task", {"title": "t", "project": "p", "blocked_by": ["nope"]}, [("blocked_by.0", "should be a UUID")]),
        (
            "create_task",
            {"project": "p", "colour": "red"},
            [("title", "is required"), ("colour", "is not an argument")],
        ),
    ],
)
def test_problems_name_the_arguments(call, alice_id, tool, arguments, expected) -> None:
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == "invalid_arguments"
    error: dict[str, Any] = outcome.structured["error"]
    problems = [(p["argument"], p["problem"]) for p in error["details"]["problems"]]
    assert len(problems) == len(expected), problems
    for (argument, problem), (want_argument, want_start) in zip(sorted(problems), sorted(expected), strict=True):
        assert argument == want_argument and problem.startswith(want_start), problems
    assert not INTERNAL.search(error["message"]), error["message"]
