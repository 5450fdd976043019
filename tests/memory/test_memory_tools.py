"""The memory tools: storing, de-duplication, hybrid search, scopes, isolation, bad input."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memory.embedding_jobs import wait_for_in_process_jobs
from memory.embeddings import EmbeddingError
from memory.models import EmbeddingStatus, Memory
from memory.tasks import MAX_RETRIES, embed_memories, embed_now
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.agents.models import Agent


def store(call, identity, content, **kwargs):
    return ok(call(identity, "store_memory", content=content, **kwargs))


def embed_all() -> None:
    embed_now([str(pk) for pk in Memory.unscoped.values_list("pk", flat=True)])


def test_store_is_pending_then_embedded_and_deduplicated(call, alice_id, acme) -> None:
    first = store(call, alice_id, "Deploys go through the staging cluster first.", tags=["Deploy", "ops"])
    assert first["duplicate"] is False and first["memory"]["embedding_status"] == "pending"
    assert first["memory"]["tags"] == ["deploy", "ops"]
    again = store(call, alice_id, "  Deploys go through the staging cluster first.  ")
    assert again["duplicate"] is True and again["memory"]["id"] == first["memory"]["id"]
    assert Memory.unscoped.count() == 1
    assert Activity.unscoped.filter(type="memory.stored").count() == 1
    embed_all()
    got = ok(call(alice_id, "get_memory", memory=first["memory"]["id"]))
    assert "embedding_status" not in got  # ready: left out
    assert embed_now([first["memory"]["id"]]) == 0  # idempotent: nothing left to do


def test_same_content_in_another_scope_is_another_memory(call, alice_id, acme) -> None:
    project = ok(call(alice_id, "create_project", name="Apollo"))
    store(call, alice_id, "Use feature flags.")
    other = store(call, alice_id, "Use feature flags.", scope="project", project=project["slug"])
    assert other["duplicate"] is False and Memory.unscoped.count() == 2


def test_search_fuses_meaning_and_words(call, alice_id, acme) -> None:
    store(call, alice_id, "The staging database migration failed because an index was missing.")
    store(call, alice_id, "Marketing plans a launch party in June.")
    store(call, alice_id, "Alice prefers tabs over spaces in Go code.")
    embed_all()
    pending = store(call, alice_id, "Zebra crossing sensors need recalibration.")  # not embedded yet
    by_meaning = ok(call(alice_id, "search_memory", query="why did our DB schema change break on staging?"))["items"]
    assert by_meaning[0]["content"].startswith("The staging database migration")
    assert "vector" in by_meaning[0]["matched"] and by_meaning[0]["similarity"] > 0.4
    by_words = ok(call(alice_id, "search_memory", query="zebra recalibration"))["items"]
    assert by_words[0]["id"] == pending["memory"]["id"]
    assert by_words[0]["matched"] == ["keyword"] and "similarity" not in by_words[0]
    strict = ok(call(alice_id, "search_memory", query="launch party", min_similarity=0.99))["items"]
    assert all("similarity" not in item or item["similarity"] >= 0.99 for item in strict)


def test_search_loads_only_the_rows_it_answers_with(call, alice_id, acme) -> None:
    for n in range(12):
        store(call, alice_id, f"Runbook step {n}: restart the ingest worker after a deploy.")
    embed_all()
    ok(call(alice_id, "search_memory", query="worker"))  # reads the table's statistics (kept ten minutes)
    with CaptureQueriesContext(connection) as captured:
        items = ok(call(alice_id, "search_memory", query="restart the ingest worker", limit=3))["items"]
    assert len(items) == 3 and all(set(i["matched"]) == {"vector", "keyword"} for i in items)
    statements = [q["sql"] for q in captured.captured_queries]
    # The settings with the query's words; both halves in one UNION ALL, each bringing
    # every row (candidates as ids and evidence); then the three answered rows alone.
    assert len(statements) == 3, statements
    assert "set_config('hnsw.ef_search'" in statements[0] and "UNION ALL" in statements[1]
    assert '"content"' not in statements[1] and statements[2].count("::uuid, ") == 2
    assert not any("SAVEPOINT" in sql for sql in statements)


def test_filters_apply_inside_the_search(call, alice_id, acme) -> None:
    project = ok(call(alice_id, "create_project", name="Apollo"))
    store(call, alice_id, "Rocket engines need cooling.", scope="project", project="apollo", tags=["engines"])
    store(call, alice_id, "Rocket engines are loud.", tags=["noise"])
    embed_all()
    tagged = ok(call(alice_id, "search_memory", query="rocket engines", tags=["engines"]))["items"]
    assert [i["content"] for i in tagged] == ["Rocket engines need cooling."]
    scoped = ok(call(alice_id, "search_memory", query="rocket engines", scope="project", project=project["id"]))[
        "items"
    ]
    assert [i["scope"] for i in scoped] == ["project"]


def test_an_agents_private_scope_covers_its_own_project_and_organization_entries(call, alice_id, acme) -> None:
    from orchestra.tenancy import tenant_scope

    with tenant_scope(acme):
        Agent.objects.create(organization=acme, name="Scout", slug="scout", memory_scope="private")
        Agent.objects.create(organization=acme, name="Other", slug="other")
    store(call, alice_id, "Scout's own note about caching.", scope="agent", agent="scout")
    store(call, alice_id, "Other's note about caching.", scope="agent", agent="other")
    store(call, alice_id, "Team note about caching.")
    embed_all()
    found = {i["content"] for i in ok(call(alice_id, "search_memory", query="caching", agent="scout"))["items"]}
    assert found == {"Scout's own note about caching.", "Team note about caching."}


def test_clear_memory_touches_only_the_named_scope(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    ok(call(alice_id, "create_project", name="Gemini"))
    for text in ("a", "b", "c"):
        store(call, alice_id, f"apollo {text}", scope="project", project="apollo")
    store(call, alice_id, "gemini a", scope="project", project="gemini")
    store(call, alice_id, "organization a")
    assert ok(call(alice_id, "clear_memory", scope="project", project="apollo")) == {"deleted": 3}
    assert sorted(Memory.unscoped.values_list("content", flat=True)) == ["gemini a", "organization a"]


def test_delete_and_list(call, alice_id, acme) -> None:
    kept = store(call, alice_id, "keep me")["memory"]
    gone = store(call, alice_id, "delete me")["memory"]
    ok(call(alice_id, "delete_memory", memory=gone["id"]))
    assert [m["id"] for m in ok(call(alice_id, "list_memories"))["items"]] == [kept["id"]]
    assert error_code(call(alice_id, "get_memory", memory=gone["id"])) == "not_found"


def test_another_organization_cannot_reach_memories(call, alice_id, charlie_id, acme, globex) -> None:
    mine = store(call, alice_id, "Acme's secret roadmap")["memory"]
    embed_all()
    assert error_code(call(charlie_id, "get_memory", memory=mine["id"])) == "not_found"
    assert error_code(call(charlie_id, "delete_memory", memory=mine["id"])) == "not_found"
    assert ok(call(charlie_id, "search_memory", query="secret roadmap"))["items"] == []
    assert ok(call(charlie_id, "list_memories"))["items"] == []
    assert Memory.unscoped.filter(pk=mine["id"]).exists()


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("store_memory", {"content": ""}),
        ("store_memory", {"content": "   "}),
        ("store_memory", {"content": "x" * 70_000}),
        ("store_memory", {"content": "ok", "scope": "galaxy"}),
        ("store_memory", {"content": "ok", "scope": "project"}),
        ("store_memory", {"content": "ok", "scope": "agent", "agent": "nobody"}),
        ("store_memory", {"content": "ok", "tags": "not-a-list"}),
        ("store_memory", {"content": "ok", "importance": 11}),
        ("search_memory", {"query": "x", "limit": 0}),
        ("search_memory", {"query": "x", "limit": 51}),
        ("search_memory", {"query": "x", "min_similarity": 1.5}),
        ("list_memories", {"limit": 101}),
        ("clear_memory", {"scope": "organization"}),
        ("clear_memory", {"scope": "project"}),
    ],
)
def test_bad_input_is_a_clear_tool_error_that_writes_nothing(call, alice_id, acme, tool, arguments) -> None:
    before = (Memory.unscoped.count(), Activity.unscoped.count())
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) in ("invalid_arguments", "not_found")
    assert outcome.structured["error"]["message"]
    assert (Memory.unscoped.count(), Activity.unscoped.count()) == before


def test_the_task_marks_failed_after_its_last_retry(call, alice_id, acme, monkeypatch) -> None:
    memory = store(call, alice_id, "will not embed")["memory"]

    class Broken:
        model_id, dimensions = "broken", 384

        def embed(self, texts):
            raise EmbeddingError("endpoint down")

    monkeypatch.setattr("memory.tasks.get_provider", lambda: Broken())
    embed_memories.apply(args=[[memory["id"]]], retries=MAX_RETRIES)
    row = Memory.unscoped.get(pk=memory["id"])
    assert row.embedding_status == EmbeddingStatus.FAILED and row.embedding_error == "endpoint down"


@pytest.mark.django_db(transaction=True)
def test_embedding_runs_in_process_after_commit(call, alice_id, acme) -> None:
    memory = store(call, alice_id, "Embedded after the transaction commits.")["memory"]
    wait_for_in_process_jobs()
    assert Memory.unscoped.get(pk=memory["id"]).embedding_status == EmbeddingStatus.READY


def test_reembed_command(call, alice_id, acme, capsys) -> None:
    import io

    from django.core.management import call_command

    for n in range(5):
        store(call, alice_id, f"memory number {n} about retries")
    out = io.StringIO()
    call_command("reembed", "--org", "acme", "--batch-size", "2", stdout=out)
    assert "5 memories to embed" in out.getvalue() and "Embedded 5 memories" in out.getvalue()
    assert set(Memory.unscoped.values_list("embedding_status", flat=True)) == {"ready"}
    again = io.StringIO()
    call_command("reembed", stdout=again)
    assert "0 memories to embed" in again.getvalue()
    forced = io.StringIO()
    call_command("reembed", "--all", stdout=forced)
    assert "5 memories to embed" in forced.getvalue()
