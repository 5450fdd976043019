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
