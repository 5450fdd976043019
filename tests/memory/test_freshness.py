"""A stored memory is findable by meaning within 2 seconds with an idle worker
(in-process, the embedded default), and an embedding task embeds the rows queued
behind it in the same batch."""

from __future__ import annotations

import time

import pytest

from memory.embedding_jobs import wait_for_in_process_jobs
from memory.models import EmbeddingStatus, Memory
from memory.tasks import FILL_TO, embed_memories
from tests.conftest import ok

PAIRS = [
    ("The checkout service caches sessions in Redis because the database was too slow.", "why cache checkout sessions"),
    ("Team Apollo ships a release every second Tuesday after QA signs it off.", "how often does Apollo deploy"),
    ("The exports API rejects request bodies over 2 MB with HTTP 413.", "largest export request accepted"),
]


@pytest.mark.django_db(transaction=True)
def test_a_stored_memory_is_findable_by_meaning_within_two_seconds(call, alice_id, acme) -> None:
    wait_for_in_process_jobs()
    for content, query in PAIRS:
        memory = ok(call(alice_id, "store_memory", content=content))["memory"]
        answered = time.monotonic()
        found = False
        while not found and time.monotonic() - answered < 2.0:
            items = ok(call(alice_id, "search_memory", query=query, limit=3))["items"]
            found = any(i["id"] == memory["id"] and "vector" in i["matched"] for i in items)
            time.sleep(0.02)
        assert found, f"not findable by meaning 2 s after the store: {content}"


def test_an_embedding_task_fills_its_batch_with_other_pending_rows(call, alice_id, acme) -> None:
    ids = [ok(call(alice_id, "store_memory", content=f"note {n} about retries"))["memory"]["id"] for n in range(5)]
    # The first row's task embeds the four stored after it too...
    assert embed_memories.apply(args=[[ids[0]]]).get() == 5
    assert set(Memory.unscoped.values_list("embedding_status", flat=True)) == {EmbeddingStatus.READY}
    # ...and their own tasks find nothing left to do.
    assert embed_memories.apply(args=[ids[1:]]).get() == 0
    assert FILL_TO >= 32
