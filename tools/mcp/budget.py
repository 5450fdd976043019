"""The context budget: what a model reads of the catalogue (each tool's name,
description, input schema and annotations, as compact JSON) must stay small.
Agents pay for every byte of it in their context window on every turn."""

from __future__ import annotations

import json
from collections.abc import Iterable

from tools.mcp.registry import ToolSpec, registry

BUDGET_BYTES = 40_000
# Tools that exist only in test settings (the conformance suite's fixtures).
FIXTURE_CATEGORY = "fixtures"


def tool_bytes(spec: ToolSpec) -> int:
    listing = spec.listing()
    listing.pop("outputSchema", None)
    return len(json.dumps(listing, separators=(",", ":")).encode())


def product_tools() -> list[ToolSpec]:
    return [spec for spec in registry().values() if spec.category != FIXTURE_CATEGORY]


def catalogue_bytes(specs: Iterable[ToolSpec] | None = None) -> int:
    return sum(tool_bytes(spec) for spec in (product_tools() if specs is None else specs))
