"""Every product tool, fed arguments generated from its own input schema and from
near-misses of it (hypothesis-jsonschema). Whatever the arguments:

- no internal error (an exception out of call_tool would be a 500 / JSON-RPC -32603);
- an error is a tool error with a known code and a one-line message, and writes nothing
  (every table's row count is unchanged);
- a success matches the tool's declared output schema;
- a reference to another organization's row answers "not found", like a missing one.

HYPOTHESIS_EXAMPLES (default 25) sets the examples per tool and kind.
"""

from __future__ import annotations

import os
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.tools.world import REFERENCES, build_world, in_process_caller, row_counts
from tools.mcp.budget import product_tools
from tools.mcp.dispatch import call_tool
from tools.mcp.registry import ToolSpec

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "25"))
KNOWN_CODES = {
    "idempotency_conflict",
    "invalid_arguments",
    "not_found",
    "permission_denied",
    "conflict",
    "requirements_unmet",
    "limit_exceeded",
    "rate_limited",
    "upstream_error",
}
SPECS = {spec.name: spec for spec in product_tools()}
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.fixture
def worlds(alice_id, charlie_id) -> tuple[dict[str, str], dict[str, str]]:
    """Refs of the caller's rows and of another organization's rows."""
    return build_world(in_process_caller(alice_id), "Ours"), build_world(in_process_caller(charlie_id), "Theirs")


def with_refs(spec: ToolSpec, args: st.SearchStrategy[dict[str, Any]], refs: dict[str, str]) -> Any:
    """Generated arguments where each reference may be swapped for a row that exists."""
    properties = spec.input_schema.get("properties", {})

    @st.composite
    def swap(draw: Any) -> dict[str, Any]:
        values = dict(draw(args))
        for argument, kind in REFERENCES.items():
            if argument in properties and (spec.name, argument) not in NOT_REFERENCES and draw(st.booleans()):
                values[argument] = refs[kind]
        if "blocked_by" in properties and draw(st.booleans()):
            values["blocked_by"] = [refs["task"]]
        return values

    return swap()


def near_misses(spec: ToolSpec) -> st.SearchStrategy[Any]:
    """Arguments that are almost right: one required argument missing, one unknown
    argument, one argument of a wrong type, or not an object at all."""
    schema = spec.input_schema
    properties = sorted(schema.get("properties", {}))
    required = schema.get("required", [])
    valid = from_schema(schema)

    @st.composite
    def mutate(draw: Any) -> Any:
        values = dict(draw(valid))
        kinds = ["unknown", "not_an_object"]
        if required:
            kinds.append("missing")
        if properties:
            kinds.append("wrong_type")
        kind = draw(st.sampled_from(kinds))
        if kind == "missing":
            values.pop(draw(st.sampled_from(required)), None)
        elif kind == "unknown":
            values["unexpected_argument"] = draw(WRONG_TYPES)
        elif kind == "wrong_type":
            values[draw(st.sampled_from(properties))] = draw(WRONG_TYPES)
        else:
            return draw(st.one_of(st.lists(st.integers(), max_size=2), st.text(max_size=5), st.integers()))
        return values

    return mutate()


def check(spec: ToolSpec, identity: Any, arguments: Any) -> dict[str, Any]:
    before = row_counts()
    outcome = call_tool(spec.name, arguments, identity)  # raises on an internal error
    if outcome.is_error:
        error = outcome.structured["error"]
        assert error["code"] in KNOWN_CODES, (spec.name, arguments, error)
        assert error["message"] and "\n" not in error["message"] and "Traceback" not in error["message"]
        assert row_counts() == before, f"{spec.name} failed with {error} but wrote rows: {arguments!r}"
    else:
        jsonschema.validate(outcome.structured, spec.output_schema or {})
    return outcome.structured


@pytest.mark.parametrize("name", sorted(SPECS))
def test_generated_arguments(name, alice_id, worlds) -> None:
    spec = SPECS[name]
    ours, _theirs = worlds

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(arguments=with_refs(spec, from_schema(spec.input_schema), ours))
    def valid_shaped(arguments: dict[str, Any]) -> None:
        check(spec, alice_id, arguments)

    valid_shaped()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_near_miss_arguments(name, alice_id, worlds) -> None:
    spec = SPECS[name]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(arguments=near_misses(spec))
    def near_miss(arguments: Any) -> None:
        check(spec, alice_id, arguments)

    near_miss()


@pytest.mark.parametrize(
    "name",
    sorted(name for name, spec in SPECS.items() if set(spec.input_schema.get("properties", {})) & set(REFERENCES)),
)
def test_another_organizations_rows_answer_not_found(name, alice_id, worlds) -> None:
    """Each reference argument, given another organization's row (every other argument
    valid and pointing at our rows), answers exactly like a missing row."""
    spec = SPECS[name]
    ours, theirs = worlds
    properties = spec.input_schema.get("properties", {})
    for argument, kind in REFERENCES.items():
        if argument not in properties or (name, argument) in NOT_REFERENCES:
            continue
        arguments = minimal_arguments(spec, ours)
        arguments[argument] = theirs[kind]
        foreign = call_tool(name, arguments, alice_id)
        arguments[argument] = missing_like(theirs[kind])
        missing = call_tool(name, arguments, alice_id)
        assert foreign.is_error and missing.is_error, (name, argument, foreign.structured, missing.structured)
        assert foreign.structured["error"]["code"] == "not_found", (name, argument, foreign.structured)
        assert normalised(foreign.structured, theirs[kind]) == normalised(
            missing.structured, missing_like(theirs[kind])
        )


# Arguments named like a reference that are not one.
NOT_REFERENCES = {("log_decision", "decision")}


def missing_like(ref: str) -> str:
    """A ref of the same form (UUID or slug) that names nothing."""
    if len(ref) == 36 and ref.count("-") == 4:
        return "00000000-0000-4000-8000-000000000000"
    return "no-such-row"


def normalised(structured: dict[str, Any], ref: str) -> str:
    return str(structured).replace(ref, "<ref>")


# Required arguments that are not references, with a value every tool accepts.
PLAIN_REQUIRED = {
    "title": "T",
    "name": "N",
    "content": "C",
    "decision": "D",
    "query": "deploys",
    "summary": "S",
    "type": "custom.check",
    "verdict": "comment",
    "scope": "project",
    "full_name": "octo/missing",
    "head": "feature",
}


def minimal_arguments(spec: ToolSpec, refs: dict[str, str]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for argument in spec.input_schema.get("required", []):
        if argument in REFERENCES and (spec.name, argument) not in NOT_REFERENCES:
            arguments[argument] = refs[REFERENCES[argument]]
        else:
            arguments[argument] = PLAIN_REQUIRED[argument]
    return arguments
