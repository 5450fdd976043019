"""Time: a memory can supersede another; search prefers the current one and marks the
superseded one."""

from __future__ import annotations

import pytest

from memory.models import Memory
from memory.search import SUPERSEDED_FACTOR
from memory.services import memory_supersede
from memory.tasks import embed_now
from orchestra.actor import Actor
from orchestra.errors import Conflict, InvalidArguments
from orchestra.tenancy import tenant_scope
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


def test_marking_stored_memories_superseded_repoints_and_never_cycles(call, alice_id, alice, acme) -> None:
    """memory_supersede (the dashboard's "Mark superseded"): both memories exist already."""
    first, second, third = (store(call, alice_id, text) for text in (OLD, NEW, "It ships on demand now."))
    person = Actor(user_id=alice.pk, tool="dashboard")
    with tenant_scope(acme):
        row = {m["id"]: Memory.objects.get(pk=m["id"]) for m in (first, second, third)}
        memory_supersede(actor=person, memory=row[first["id"]], by=row[second["id"]])
        # A newer replacement takes over; the activity says which it replaced.
        memory_supersede(actor=person, memory=row[first["id"]], by=row[third["id"]])
        # Pointing back at a superseded memory, or at itself, would loop: refused.
        with pytest.raises(Conflict, match="is itself superseded"):
            memory_supersede(actor=person, memory=row[third["id"]], by=row[first["id"]])
        with pytest.raises(InvalidArguments, match="cannot supersede itself"):
            memory_supersede(actor=person, memory=row[first["id"]], by=row[first["id"]])
    assert str(Memory.unscoped.get(pk=first["id"]).superseded_by_id) == third["id"]
    assert str(Memory.unscoped.get(pk=second["id"]).supersedes_id) == first["id"]
    assert Memory.unscoped.get(pk=third["id"]).superseded_by_id is None
    last = Activity.unscoped.filter(type="memory.superseded").order_by("-created_at").first()
    assert last is not None and last.actor_user_id == alice.pk
    assert last.metadata == {"by": third["id"], "previously_by": second["id"]}
    assert ok(call(alice_id, "get_memory", memory=first["id"]))["superseded_by"] == third["id"]


def test_every_embedded_model_says_which_of_its_rows_are_superseded() -> None:
    from django.db.models import Q

    from memory.models import embedded_models

    models = embedded_models()
    assert {m.__name__ for m in models} >= {"Memory", "Decision"}
    assert all(isinstance(m.__dict__.get("SUPERSEDED"), Q) for m in models)
