"""A small organization's worth of rows, made through the tools themselves, for the
tests that call every tool (properties, REST/MCP parity)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection

from orchestra.errors import ToolError
from tests.conftest import ROOT
from tools.features.workflows import WORKFLOWS
from tools.mcp.dispatch import call_tool


def our_app_labels() -> set[str]:
    """The labels of this repository's apps (not Django's or a library's)."""
    venv = ROOT / ".venv"
    return {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(ROOT) and not Path(config.path).is_relative_to(venv)
    }


# Arguments that name a row, and the key of build_world's answer that fills them.
REFERENCES = {
    "project": "project",
    "agent": "agent",
    "assignee": "agent",
    "session": "session",
    "task": "task",
    "parent": "task",
    "memory": "memory",
    "note": "note",
    "decision": "decision",
    "supersedes": "decision",
    "feature": "feature",
    "spec": "spec",
    "activity": "activity",
}

Caller = Callable[[str, dict[str, Any]], dict[str, Any]]


def build_world(call: Caller, name: str = "World") -> dict[str, str]:
    """One row of every kind, linked to each other; the refs that address them."""
    project = call("create_project", {"name": name, "description": "Where the tests live."})
    agent = call("create_agent", {"name": f"{name} agent", "project": project["slug"], "skills": ["python"]})
    session = call(
        "create_session", {"title": "Session", "goals": ["ship"], "agent": agent["slug"], "project": project["slug"]}
    )
    task = call("create_task", {"title": "Task", "project": project["slug"], "assignee": agent["slug"]})
    call("create_task", {"title": "Subtask", "project": project["slug"], "parent": task["id"]})
    memory = call(
        "store_memory", {"content": f"{name} deploys on Fridays", "scope": "project", "project": project["slug"]}
    )
    decision = call(
        "log_decision",
        {"title": "Use PostgreSQL", "decision": "PostgreSQL with pgvector", "project": project["slug"]},
    )
    # One token builds everything, like one person working with agents: its review gate
    # takes its author's review (the default workflow's gates, with self review allowed).
    gates = [{**gate, "self_review_allowed": gate["review"]} for gate in WORKFLOWS["default"]]
    feature = call("create_feature", {"title": f"{name} feature", "project": project["slug"], "workflow": gates})
    spec = call("create_spec", {"title": f"{name} spec", "project": project["slug"], "content": "# Spec"})
    note = call("create_note", {"title": "Note", "content": "See the spec", "project": project["slug"]})
    activity = call("log_activity", {"type": "custom.checkpoint", "description": "built", "project": project["slug"]})
    return {
        "project": project["slug"],
        "agent": agent["slug"],
        "session": session["id"],
        "task": task["id"],
        "memory": memory["memory"]["id"],
        "note": note["id"],
        "decision": decision["id"],
        "feature": feature["slug"],
        "spec": spec["slug"],
        "activity": activity["id"],
    }


def in_process_caller(identity: Any) -> Caller:
    def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        outcome = call_tool(name, arguments, identity)
        if outcome.is_error:
            raise ToolError(f"{name} failed while building the world: {outcome.structured}")
        return outcome.structured

    return call


def row_counts() -> tuple[int, ...]:
    """The number of rows of every table our apps own, in one query."""
    tables = sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.app_label in our_app_labels() and not model._meta.proxy and model._meta.managed
        }
    )
    # Table names come from the model registry, quoted: nothing here is user input.
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {connection.ops.quote_name(t)})" for t in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())
