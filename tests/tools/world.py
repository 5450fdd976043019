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
    "repository": "repository",
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
    repository = connect_github(call, project["id"], project["slug"])
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
        "repository": repository["id"],
        "repository_name": repository["full_name"],
    }


def connect_github(call: Caller, project_id: str, project: str) -> dict[str, Any]:
    """The organization's GitHub App installation (one per organization, on the stand-in)
    and a repository of its own for `project`, connected through connect_repo."""
    from githubint.models import GitHubConnection
    from githubint.selectors import live_organization_id
    from githubint.services import connection_link_installation
    from orchestra.actor import SYSTEM
    from tests.github_fixtures import current
    from tools.projects.models import Project

    standin = current["standin"]
    # (Not get_context: it would warm the usage cache the query-bound test measures.)
    organization = Project.unscoped.select_related("organization").get(pk=project_id).organization
    live_id = live_organization_id(organization)
    full_name = f"{organization.slug}/{project}"
    standin.add_repo(full_name, branches=("main", "feature"))
    standin.commit(full_name, "feature", {"app.py": "print('hi')\n"}, "Add the app")
    connection = GitHubConnection.unscoped.filter(organization_id=live_id).first()
    if connection is None:
        from accounts.models import Organization

        installation = standin.add_installation(organization.slug, [full_name])
        connection_link_installation(
            actor=SYSTEM,
            organization=Organization.objects.get(pk=live_id),
            installation_id=installation.id,
            account_login=installation.account,
            account_type=installation.account_type,
        )
    else:
        assert connection.installation_id is not None
        standin.installations[connection.installation_id].repositories.append(full_name)
    return call("connect_repo", {"project": project, "full_name": full_name})


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
