"""The context budget of the catalogue (issue 5): a model reads every tool's name,
description, input schema and annotations; together they stay under 40,000 bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tools.mcp.budget import BUDGET_BYTES, catalogue_bytes, product_tools, tool_bytes


def test_catalogue_fits_the_context_budget(capsys) -> None:
    specs = product_tools()
    size = catalogue_bytes(specs)
    with capsys.disabled():
        largest = sorted(specs, key=tool_bytes, reverse=True)[:3]
        print(
            f"\ncatalogue: {len(specs)} tools, {size:,} bytes of JSON (budget {BUDGET_BYTES:,}); "
            f"largest: {', '.join(f'{s.name} {tool_bytes(s)}' for s in largest)}"
        )
    assert size < BUDGET_BYTES


def _schema_keywords(node: Any) -> Iterator[str]:
    """Every keyword used in a schema (property names are not keywords)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    yield from _schema_keywords(sub)
            else:
                yield key
                yield from _schema_keywords(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schema_keywords(item)


def test_descriptions_are_short_and_schemas_carry_no_generated_titles() -> None:
    for spec in product_tools():
        assert spec.description and len(spec.description) <= 200, spec.name
        assert "title" not in set(_schema_keywords(spec.input_schema)), spec.name


# TOOLS.md's categories, with exactly its names.
CATALOGUE = {
    "agents": {"create_agent", "list_agents", "get_agent", "update_agent", "delete_agent"},
    "tasks": {"create_task", "list_tasks", "update_task", "complete_task", "delete_task", "get_task", "get_next_task"},
    "projects": {"create_project", "list_projects", "get_project", "update_project", "archive_project"},
    "memory": {"store_memory", "search_memory", "list_memories", "delete_memory", "clear_memory", "get_memory"},
    "activity": {"log_activity", "list_activities", "get_activity"},
    "decisions": {"log_decision", "list_decisions", "get_decision", "update_decision", "search_decisions"},
    "sessions": {"create_session", "resume_session", "end_session", "list_sessions", "get_context"},
    "notes": {"create_note", "list_notes", "update_note", "delete_note", "get_note"},
    "features": {"create_feature", "advance_feature", "submit_review", "list_features", "get_feature"},
    "specs": {"create_spec", "list_specs", "update_spec", "get_spec"},
    "github": {"connect_repo", "create_pr", "generate_claude_md", "list_repos", "sync_repo"},
}


def test_the_catalogue_is_the_fifty_five_tools_of_tools_md() -> None:
    by_category: dict[str, set[str]] = {}
    for spec in product_tools():
        by_category.setdefault(spec.category, set()).add(spec.name)
    assert by_category == CATALOGUE
    assert sum(len(names) for names in CATALOGUE.values()) == 55
    for spec in product_tools():
        assert spec.output_schema, f"{spec.name} declares no output schema"
        assert set(spec.annotations) >= {"readOnlyHint", "destructiveHint", "idempotentHint"}
        # Only GitHub's tools reach outside Orchestra.
        assert spec.annotations["openWorldHint"] is (spec.category == "github"), spec.name
        assert spec.input_schema["type"] == "object" and spec.input_schema.get("additionalProperties") is False
