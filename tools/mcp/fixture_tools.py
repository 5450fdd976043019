"""Fixtures that exist only with MCP_TEST_TOOLS=true: tools, prompts and resources the
tests and the conformance suite call. Apart from test_slow_write, they touch no data."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from orchestra.errors import ToolError
from tools.mcp import catalog
from tools.mcp.interaction import InputRequired, Interaction
from tools.mcp.registry import ToolContent, ToolContext, get_tool, tool


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
    # Through the registry, as a client would: the transport layer imports no domain.
    get_tool("create_project").func(ctx, name=name)
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


# --- input-required exchanges (2026-07-28) ---------------------------------------------
def _elicit(message: str, field_name: str, kind: str = "string") -> dict[str, Any]:
    schema = {"type": "object", "properties": {field_name: {"type": kind}}, "required": [field_name]}
    return {"method": "elicitation/create", "params": {"message": message, "requestedSchema": schema}}


def _sample(text: str, max_tokens: int) -> dict[str, Any]:
    messages = [{"role": "user", "content": {"type": "text", "text": text}}]
    return {"method": "sampling/createMessage", "params": {"messages": messages, "maxTokens": max_tokens}}


_ROOTS = {"method": "roots/list", "params": {}}


def _interaction(ctx: ToolContext) -> Interaction:
    if ctx.interaction is None:
        raise InputRequired({})  # dispatch turns this into "needs revision 2026-07-28"
    return ctx.interaction


def _accepted(response: dict[str, Any] | None, field_name: str) -> str | None:
    content = (response or {}).get("content")
    value = content.get(field_name) if isinstance(content, dict) else None
    return str(value) if value is not None else None


def _sampled_text(response: dict[str, Any] | None) -> str | None:
    content = (response or {}).get("content")
    return str(content.get("text")) if isinstance(content, dict) and "text" in content else None


@tool(category="fixtures", read_only=True)
def test_input_required_result_elicitation(ctx: ToolContext) -> ToolContent:
    """Ask the user's name (elicitation), then greet them."""
    name = _accepted(_interaction(ctx).response("user_name"), "name")
    if name is None:  # first round, or the answer is missing: ask (again)
        raise InputRequired({"user_name": _elicit("What is your name?", "name")})
    return ToolContent([{"type": "text", "text": f"Hello, {name}!"}])


@tool(category="fixtures", read_only=True)
def test_input_required_result_sampling(ctx: ToolContext) -> ToolContent:
    """Ask the client's model a question (sampling), then answer with its reply."""
    text = _sampled_text(_interaction(ctx).response("capital_question"))
    if text is None:
        raise InputRequired({"capital_question": _sample("What is the capital of France?", 100)})
    return ToolContent([{"type": "text", "text": f"The model said: {text}"}])


@tool(category="fixtures", read_only=True)
def test_input_required_result_list_roots(ctx: ToolContext) -> ToolContent:
    """Ask the client's roots, then list them."""
    response = _interaction(ctx).response("client_roots")
    if response is None or not isinstance(response.get("roots"), list):
        raise InputRequired({"client_roots": _ROOTS})
    uris = [str(root.get("uri")) for root in response["roots"] if isinstance(root, dict)]
    return ToolContent([{"type": "text", "text": f"Roots: {', '.join(uris) or '(none)'}"}])


@tool(category="fixtures", read_only=True)
def test_input_required_result_request_state(ctx: ToolContext) -> ToolContent:
    """Ask for a confirmation and round-trip a signed requestState."""
    interaction = _interaction(ctx)
    if interaction.state is None or interaction.response("confirm") is None:
        request = _elicit("Please confirm", "ok", "boolean")
        raise InputRequired({"confirm": request}, state={"step": "confirm"})
    if interaction.state.get("step") != "confirm":
        raise ToolError("unexpected request state")
    return ToolContent([{"type": "text", "text": "Confirmed: state-ok"}])


@tool(category="fixtures", read_only=True)
def test_input_required_result_multiple_inputs(ctx: ToolContext) -> ToolContent:
    """Ask three things at once (elicitation, sampling, roots)."""
    interaction = _interaction(ctx)
    requests = {
        "user_name": _elicit("What is your name?", "name"),
        "greeting": _sample("Generate a greeting", 50),
        "client_roots": _ROOTS,
    }
    missing = {key: request for key, request in requests.items() if interaction.response(key) is None}
    if missing or interaction.state is None:
        raise InputRequired(missing or requests, state={"asked": sorted(requests)})
    name = _accepted(interaction.response("user_name"), "name")
    return ToolContent([{"type": "text", "text": f"All inputs received for {name}"}])


@tool(category="fixtures", read_only=True)
def test_input_required_result_multi_round(ctx: ToolContext) -> ToolContent:
    """Ask a name, then a colour (two rounds), then answer."""
    interaction = _interaction(ctx)
    state = interaction.state or {}
    if state.get("round") == 2:
        color = _accepted(interaction.response("step2"), "color")
        if color is None:
            raise InputRequired({"step2": _elicit("Step 2: What is your favorite color?", "color")}, state=state)
        return ToolContent([{"type": "text", "text": f"{state.get('name')} likes {color}"}])
    name = _accepted(interaction.response("step1"), "name") if state.get("round") == 1 else None
    if name is None:
        raise InputRequired({"step1": _elicit("Step 1: What is your name?", "name")}, state={"round": 1})
    raise InputRequired(
        {"step2": _elicit("Step 2: What is your favorite color?", "color")}, state={"round": 2, "name": name}
    )


@tool(category="fixtures", read_only=True)
def test_input_required_result_tampered_state(ctx: ToolContext) -> ToolContent:
    """Round-trip a signed requestState (a tampered one is refused before this runs)."""
    interaction = _interaction(ctx)
    if interaction.state is None:
        raise InputRequired({"confirm": _elicit("Please confirm", "ok", "boolean")}, state={"nonce": "fixture"})
    return ToolContent([{"type": "text", "text": "state-ok"}])


@tool(category="fixtures", read_only=True)
def test_input_required_result_capabilities(ctx: ToolContext) -> ToolContent:
    """Ask only through the capabilities the client declared."""
    interaction = _interaction(ctx)
    wanted = {}
    if interaction.supports("elicitation"):
        wanted["user_name"] = _elicit("What is your name?", "name")
    if interaction.supports("sampling"):
        wanted["greeting"] = _sample("Generate a greeting", 50)
    if interaction.supports("roots"):
        wanted["client_roots"] = _ROOTS
    if not wanted or all(interaction.response(key) is not None for key in wanted):
        return ToolContent([{"type": "text", "text": f"Used: {', '.join(sorted(wanted)) or 'nothing'}"}])
    raise InputRequired({key: request for key, request in wanted.items() if interaction.response(key) is None})


def _prompt_with_input(arguments: dict[str, str], interaction: Interaction) -> list[dict[str, Any]]:
    context = _accepted(interaction.response("user_context"), "context")
    if context is None:
        raise InputRequired({"user_context": _elicit("What context should the prompt use?", "context")})
    return [_text(f"Use this context: {context}")]


catalog.register_prompt(
    catalog.Prompt(
        "test_input_required_result_prompt",
        "A prompt that asks the user for context first.",
        lambda a: [],
        render_with_input=_prompt_with_input,
    )
)
