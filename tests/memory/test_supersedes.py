"""Time: a memory can supersede another; search prefers the current one and marks the
superseded one."""

from __future__ import annotations

from memory.models import Memory
from memory.search import SUPERSEDED_FACTOR
from memory.tasks import embed_now
from tests.conftest import error_code, ok
from tools.activity.models import Activity

OLD = "The Apollo release train ships every second Tuesday."
NEW = "The Apollo release train now ships every Thursday."


def store(call, identity, content: str, **kwargs) -> dict:
    return ok(call(identity, "store_memory", content=content, **kwargs))["memory"]


def test_a_newer_memory_supersedes_an_older_one(call, alice_id, acme) -> None:
    old = store(call, alice_id, OLD)
    new = store(call, alice_id, NEW, supersedes=old["id"])
    assert new["supersedes"] == old["id"] and "superseded_by" not in new
    assert ok(call(alice_id, "get_memory", memory=old["id"]))["superseded_by"] == new["id"]
    stored = Activity.unscoped.filter(type="memory.stored").order_by("-created_at").first()
    assert stored is not None and stored.metadata == {"supersedes": old["id"]}
    embed_now([str(pk) for pk in Memory.unscoped.values_list("pk", flat=True)])
    items = ok(call(alice_id, "search_memory", query="When does the Apollo release train ship?"))["items"]
    ranked = [i["id"] for i in items if i["id"] in (old["id"], new["id"])]
    assert ranked == [new["id"], old["id"]]
    by_id = {i["id"]: i for i in items}
    assert by_id[old["id"]]["superseded_by"] == new["id"] and "superseded_by" not in by_id[new["id"]]
    # The superseded one keeps SUPERSEDED_FACTOR of its relevance, even for its own words.
    own_words = ok(call(alice_id, "search_memory", query=OLD, limit=2))["items"]
    old_hit = next(i for i in own_words if i["id"] == old["id"])
    assert 0 < old_hit["score"] <= SUPERSEDED_FACTOR


def test_superseding_what_the_caller_cannot_see_is_not_found(call, alice_id, charlie_id, acme, globex) -> None:
    theirs = store(call, charlie_id, "Globex's own note.")
    before = (Memory.unscoped.count(), Activity.unscoped.count())
    for ref in (theirs["id"], "00000000-0000-4000-8000-000000000000", "not-an-id"):
        outcome = call(alice_id, "store_memory", content="A new note.", supersedes=ref)
        assert error_code(outcome) == "not_found"
        assert outcome.structured["error"]["details"]["argument"] == "supersedes"
    assert (Memory.unscoped.count(), Activity.unscoped.count()) == before
    assert "superseded_by" not in ok(call(charlie_id, "get_memory", memory=theirs["id"]))
