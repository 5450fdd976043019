"""Pages are bounded in bytes as well as rows, and a cursor is either one we issued or
the invalid-cursor error (never a 500), on every list tool and dashboard page."""

from __future__ import annotations

import base64
import json
import uuid

import orjson
import pytest
from django.test import Client

from orchestra.pagination import MAX_PAGE_BYTES
from tests.conftest import error_code, ok
from tools.mcp.dispatch import MAX_ANSWER_BYTES
from tools.mcp.registry import registry


def forged(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


ROW = str(uuid.uuid4())
FORGED_CURSORS = {
    # An ISO 8601 offset PostgreSQL refuses (beyond ±15:59): a DataError, a 500, before.
    "offset beyond PostgreSQL's": forged(["2020-01-01T00:00:00+23:59", ROW]),
    "before year 1 in UTC": forged(["0001-01-01T00:00:00+01:00", ROW]),
    "no offset": forged(["2020-01-01T00:00:00", ROW]),
    "not a timestamp": forged(["yesterday", ROW]),
    "not an id": forged(["2020-01-01T00:00:00+00:00", "not-a-uuid"]),
    "three parts": forged(["2020-01-01T00:00:00+00:00", ROW, 3]),
    "an object": forged({"created": "2020-01-01T00:00:00+00:00", "id": ROW}),
    "numbers": forged([1, 2]),
    "deep": base64.urlsafe_b64encode(b"[" * 150 + b"]" * 150).decode(),
    "not base64": "forged!",
    "not JSON": base64.urlsafe_b64encode(b"\xff\xfe{").decode(),
}


def list_tools() -> list[str]:
    return [name for name, spec in registry().items() if "cursor" in spec.input_schema.get("properties", {})]


def test_every_list_tool_refuses_a_forged_cursor_with_the_invalid_cursor_error(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    tools = list_tools()
    assert len(tools) >= 10
    for name in tools:
        arguments = {"project": "apollo"} if name == "list_specs" else {}
        for label, cursor in FORGED_CURSORS.items():
            outcome = call(alice_id, name, cursor=cursor, **arguments)
            assert error_code(outcome) == "invalid_arguments", (name, label)
            assert "cursor" in outcome.structured["error"]["message"], (name, label)


def test_dashboard_pages_answer_400_to_a_forged_cursor(alice, acme) -> None:
    client = Client()
    client.force_login(alice)
    deep = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()  # no length limit on a URL's query
    for url in ("/projects/", "/memories/", "/decisions/", "/features/", "/notes/", "/activity/"):
        assert client.get(url).status_code == 200, url
        for label, cursor in {**FORGED_CURSORS, "very deep": deep}.items():
            assert client.get(url, {"cursor": cursor}).status_code == 400, (url, label)


def test_a_page_stops_adding_rows_once_past_one_mebibyte(call, alice_id, acme) -> None:
    assert MAX_PAGE_BYTES == 1024 * 1024
    blob = "x" * 60_000
    # List rows are briefs (docs/decisions/0024), but a memory's row keeps its metadata.
    created = [
        ok(call(alice_id, "store_memory", content=f"fact {i}", metadata={"blob": blob}))["memory"]["id"]
        for i in range(24)
    ]
    seen: list[str] = []
    cursor = None
    pages = []
    while True:
        page = ok(call(alice_id, "list_memories", limit=24, cursor=cursor))
        pages.append(page)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    first = pages[0]
    size = len(orjson.dumps(first))
    # Rows are added until the answer passes 1 MiB, then it ends with a cursor.
    assert len(first["items"]) < 24 and first["next_cursor"] is not None
    assert MAX_PAGE_BYTES < size < MAX_PAGE_BYTES + 2 * len(orjson.dumps(first["items"][0]))
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))


@pytest.mark.parametrize("newest_first", [True, False])
def test_the_byte_bound_keeps_keyset_order_both_ways(acme, newest_first) -> None:
    from orchestra.pagination import paginate
    from orchestra.tenancy import tenant_scope
    from tools.projects.models import Project

    with tenant_scope(acme):
        Project.objects.bulk_create(
            [Project(organization=acme, name=f"R{i}", slug=f"r{i}", description="d" * 200_000) for i in range(12)]
        )
        seen: list[str] = []
        cursor = None
        sizes = []
        while True:
            page = paginate(Project.objects.all(), limit=100, cursor=cursor, newest_first=newest_first)
            sizes.append(len(page.items))
            seen += [p.slug for p in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert sizes[0] == 6  # 5 rows are 1,000,000 bytes of description; the 6th passes 1 MiB
    assert len(seen) == 12 and len(set(seen)) == 12


def test_no_single_answer_is_built_beyond_a_few_mebibytes(call, alice_id, acme) -> None:
    """A search is ranked, not paged: asking for more than one answer may hold is a clear
    error saying to ask for less, and a smaller limit answers."""
    for i in range(24):
        ok(call(alice_id, "store_memory", content=f"deploy note {i} " + "y" * 60_000, metadata={"pad": "z" * 40_000}))
    outcome = call(alice_id, "search_memory", query="deploy", limit=50)
    assert error_code(outcome) == "invalid_arguments"
    assert outcome.structured["error"]["details"]["limit_bytes"] == MAX_ANSWER_BYTES
    assert "ask for less" in outcome.structured["error"]["message"]
    assert len(ok(call(alice_id, "search_memory", query="deploy", limit=5))["items"]) == 5
