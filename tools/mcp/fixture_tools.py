"""Fixture tools that exist only with MCP_TEST_TOOLS=true (tests and the conformance
suite call them). They touch no data."""

from __future__ import annotations

import time
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from orchestra.errors import ToolError
from tools.mcp.registry import ToolContext, tool


class Done(TypedDict):
    done: bool
    steps: int


@tool(category="fixtures", read_only=True, idempotent=True)
def test_tool_with_progress(ctx: ToolContext, steps: Annotated[int, Field(ge=1, le=20)] = 3) -> Done:
    """Report progress `steps` times, then answer."""
    for step in range(1, steps + 1):
        ctx.report_progress(step, steps, f"step {step} of {steps}")
        time.sleep(0.02)
    return Done(done=True, steps=steps)


@tool(category="fixtures", read_only=True, idempotent=True)
def test_error_handling(ctx: ToolContext) -> Done:
    """Always fails with a tool error."""
    raise ToolError("This tool always fails, on purpose.")


@tool(category="fixtures", read_only=True, idempotent=True)
def test_slow(ctx: ToolContext, seconds: Annotated[float, Field(ge=0, le=30)] = 5) -> Done:
    """Sleep, then answer (for cancellation tests)."""
    time.sleep(seconds)
    return Done(done=True, steps=0)


@tool(category="fixtures", read_only=True, idempotent=True)
def test_internal_error(ctx: ToolContext) -> Done:
    """Raise an unexpected exception (for internal-error tests)."""
    raise RuntimeError("secret internal detail orch_live_notarealtoken")


@tool(category="fixtures", read_only=False)
def test_slow_write(ctx: ToolContext, name: Annotated[str, Field(min_length=1, max_length=50)], seconds: float = 2) -> Done:
    """Create a project, then sleep: a cancelled call must leave no project behind."""
    from tools.projects.services import project_create

    project_create(actor=ctx.actor, name=name)
    time.sleep(seconds)
    return Done(done=True, steps=1)
