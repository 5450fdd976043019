"""Rows for the dashboard's tests, written through the tools as agents would."""

from __future__ import annotations

from typing import Any

from accounts.auth import TokenIdentity
from tests.conftest import ok
from tools.mcp.dispatch import call_tool


def tool(identity: TokenIdentity, name: str, /, **arguments: Any) -> dict[str, Any]:
    return ok(call_tool(name, arguments, identity))


def build(identity: TokenIdentity, name: str = "Apollo", *, hostile: str = "") -> dict[str, Any]:
    """A project with one row of every kind the dashboard shows (a task in every status,
    a soft-deleted task, a superseded decision with a discussion, a spec with two
    versions, a feature past a review gate, a note); `hostile` is put into every text
    an agent writes."""
    project = tool(identity, "create_project", name=name, description=f"The {name} mission. {hostile}")
    slug = project["slug"]
    agent = tool(identity, "create_agent", name=f"{name} bot", project=slug)
    tasks: dict[str, dict[str, Any]] = {}
    for status in ("backlog", "todo", "in_progress", "blocked", "in_review", "done", "cancelled"):
        task = tool(
            identity,
            "create_task",
            title=f"{name} {status} task {hostile}",
            description=f"Do the **{status}** thing. {hostile}",
            project=slug,
            assignee=agent["slug"],
            priority="high" if status == "todo" else "medium",
            labels=["web"],
        )
        path = {
            "backlog": ["backlog"],
            "in_progress": ["in_progress"],
            "blocked": ["blocked"],
            "in_review": ["in_progress", "in_review"],
            "done": ["in_progress", "done"],
            "cancelled": ["cancelled"],
        }.get(status, [])
        for step in path:
            tool(identity, "update_task", task=task["id"], status=step)
        tasks[status] = task
    deleted = tool(identity, "create_task", title=f"{name} deleted task", project=slug)
    tool(identity, "delete_task", task=deleted["id"], reason="duplicate")
    memory = tool(
        identity,
        "store_memory",
        content=f"{name} deploys go through staging first. {hostile}",
        scope="project",
        project=slug,
        tags=["deploy"],
    )
    old = tool(
        identity,
        "log_decision",
        title=f"{name} uses MySQL",
        decision=f"MySQL. {hostile}",
        project=slug,
        status="accepted",
    )
    decision = tool(
        identity,
        "log_decision",
        title=f"{name} uses PostgreSQL",
        decision=f"PostgreSQL with **pgvector**. {hostile}",
        rationale=f"One database for rows and vectors. {hostile}",
        alternatives=[{"option": "Pinecone", "why_not": f"another service to run {hostile}"}],
        project=slug,
        supersedes=old["id"],
        status="accepted",
    )
    tool(identity, "update_decision", decision=decision["id"], comment=f"Agreed, ship it. {hostile}")
    spec = tool(identity, "create_spec", title=f"{name} spec", project=slug, content=f"# First draft\n\n{hostile}")
    tool(identity, "update_spec", spec=spec["slug"], content="# Second draft\n\nWith *details*.", change_note="details")
    # One token writes the whole world, like one person with agents: the quick workflow's
    # gates, with a review gate that takes its author's review.
    solo = [
        {"name": "build"},
        {"name": "review", "review": True, "self_review_allowed": True},
        {"name": "done"},
    ]
    feature = tool(identity, "create_feature", title=f"{name} login", project=slug, workflow=solo)
    tool(identity, "advance_feature", feature=feature["slug"])
    tool(identity, "submit_review", feature=feature["slug"], verdict="approved", comments=f"Looks good {hostile}")
    note = tool(identity, "create_note", title=f"{name} note", content=f"## Notes\n\n{hostile}", project=slug)
    return {
        "project": project,
        "agent": agent,
        "tasks": tasks,
        "deleted_task": deleted,
        "memory": memory["memory"],
        "old_decision": old,
        "decision": decision,
        "spec": spec,
        "feature": feature,
        "note": note,
    }
