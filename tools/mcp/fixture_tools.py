"""Fixture tools that exist only with MCP_TEST_TOOLS=true (tests and the conformance
suite call them). They touch no data."""

from __future__ import annotations

import time
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from orchestra.errors import ToolError
from tools.mcp.registry import ToolContent, ToolContext, tool


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
def test_slow_write(
    ctx: ToolContext, name: Annotated[str, Field(min_length=1, max_length=50)], seconds: float = 2
) -> Done:
    """Create a project, then sleep: a cancelled call must leave no project behind."""
    from tools.projects.services import project_create

    project_create(actor=ctx.actor, name=name)
    time.sleep(seconds)
    return Done(done=True, steps=1)


# --- the conformance suite's fixtures -------------------------------------------------
# A 1x1 red PNG and a tiny silent WAV, base64.
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
_WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="


@tool(category="fixtures", read_only=True, idempotent=True)
def test_simple_text(ctx: ToolContext) -> ToolContent:
    """Answer one text block."""
    return ToolContent([{"type": "text", "text": "This is a simple text response for testing."}])


@tool(category="fixtures", read_only=True, idempotent=True)
def test_image_content(ctx: ToolContext) -> ToolContent:
    """Answer one image block."""
    return ToolContent([{"type": "image", "data": _PNG, "mimeType": "image/png"}])


@tool(category="fixtures", read_only=True, idempotent=True)
def test_audio_content(ctx: ToolContext) -> ToolContent:
    """Answer one audio block."""
    return ToolContent([{"type": "audio", "data": _WAV, "mimeType": "audio/wav"}])


@tool(category="fixtures", read_only=True, idempotent=True)
def test_embedded_resource(ctx: ToolContext) -> ToolContent:
    """Answer one embedded resource block."""
    resource = {
        "uri": "test://embedded-resource",
        "mimeType": "text/plain",
        "text": "This is an embedded resource content.",
    }
    return ToolContent([{"type": "resource", "resource": resource}])


@tool(category="fixtures", read_only=True, idempotent=True)
def test_multiple_content_types(ctx: ToolContext) -> ToolContent:
    """Answer text, image and resource blocks."""
    resource = {
        "uri": "test://mixed-content-resource",
        "mimeType": "application/json",
        "text": '{"test":"data","value":123}',
    }
    return ToolContent(
        [
            {"type": "text", "text": "Multiple content types test:"},
            {"type": "image", "data": _PNG, "mimeType": "image/png"},
            {"type": "resource", "resource": resource},
        ]
    )


@tool(category="fixtures", read_only=True, idempotent=True, requires={"sampling": {}})
def test_missing_capability(ctx: ToolContext) -> ToolContent:
    """Needs the client's sampling capability (refused without it)."""
    return ToolContent([{"type": "text", "text": "sampling was declared"}])


@tool(category="fixtures", read_only=True, idempotent=True)
def test_streaming_elicitation(ctx: ToolContext) -> ToolContent:
    """Answer on the response stream without sending requests on it."""
    return ToolContent([{"type": "text", "text": "no elicitation needed"}])


@tool(category="fixtures", read_only=True, idempotent=True)
def test_logging_tool(ctx: ToolContext) -> ToolContent:
    """Answer without log notifications (none were asked for)."""
    return ToolContent([{"type": "text", "text": "done"}])
