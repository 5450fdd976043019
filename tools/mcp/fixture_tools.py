"""Fixtures that exist only with MCP_TEST_TOOLS=true: tools, prompts and resources the
tests and the conformance suite call. Apart from test_slow_write, they touch no data."""

from __future__ import annotations

import json
import time
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from orchestra.errors import ToolError
from tools.mcp import catalog
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


# --- prompts and resources the conformance suite reads ---------------------------------
def _text(text: str) -> dict[str, object]:
    return {"role": "user", "content": {"type": "text", "text": text}}


catalog.register_prompt(
    catalog.Prompt(
        "test_simple_prompt", "A prompt without arguments.", lambda a: [_text("This is a simple prompt for testing.")]
    )
)
catalog.register_prompt(
    catalog.Prompt(
        "test_prompt_with_arguments",
        "A prompt with two arguments.",
        lambda a: [_text(f"Prompt with arguments: arg1='{a['arg1']}', arg2='{a['arg2']}'")],
        arguments=[
            {"name": "arg1", "description": "First test argument", "required": True},
            {"name": "arg2", "description": "Second test argument", "required": True},
        ],
        completions={"arg1": ["paris", "park", "party"], "arg2": ["world", "word"]},
    )
)
catalog.register_prompt(
    catalog.Prompt(
        "test_prompt_with_embedded_resource",
        "A prompt embedding a resource.",
        lambda a: [
            {
                "role": "user",
                "content": {
                    "type": "resource",
                    "resource": {
                        "uri": a["resourceUri"],
                        "mimeType": "text/plain",
                        "text": "Embedded resource content for testing.",
                    },
                },
            },
            _text("Please process the embedded resource above."),
        ],
        arguments=[{"name": "resourceUri", "description": "URI of the resource to embed", "required": True}],
    )
)
catalog.register_prompt(
    catalog.Prompt(
        "test_prompt_with_image",
        "A prompt with an image.",
        lambda a: [
            {"role": "user", "content": {"type": "image", "data": _PNG, "mimeType": "image/png"}},
            _text("Please analyze the image above."),
        ],
    )
)
catalog.register_resource(
    catalog.Resource(
        "test://static-text",
        "static-text",
        "A static text resource.",
        "text/plain",
        lambda: [
            {
                "uri": "test://static-text",
                "mimeType": "text/plain",
                "text": "This is the content of the static text resource.",
            }
        ],
    )
)
catalog.register_resource(
    catalog.Resource(
        "test://static-binary",
        "static-binary",
        "A static binary resource.",
        "image/png",
        lambda: [{"uri": "test://static-binary", "mimeType": "image/png", "blob": _PNG}],
    )
)
catalog.register_template(
    catalog.ResourceTemplate(
        "test://template/{id}/data",
        "template-data",
        "Data for an id.",
        "application/json",
        lambda uri, p: [
            {
                "uri": uri,
                "mimeType": "application/json",
                "text": json.dumps(
                    {"id": p["id"], "templateTest": True, "data": f"Data for ID: {p['id']}"}, separators=(",", ":")
                ),
            }
        ],
    )
)
