"""Memory that stays clean: the store catches exact duplicates once normalised, and the
embedding task merges a memory into an older one of its scope that says the same."""

from __future__ import annotations

from memory.models import Memory
from memory.tasks import embed_now, merge_near_duplicate, same_numbers
from tests.conftest import ok
from tools.activity.models import Activity

ORIGINAL = "The staging deploy failed because the TLS certificate expired."
REWORDED = "The staging deploy failed since the TLS certificate had expired."


def store(call, identity, content: str, **kwargs) -> dict:
    return ok(call(identity, "store_memory", content=content, **kwargs))


def embed(*ids: str) -> None:
    """What the embedding task does with the rows it was given (merge included)."""
    embed_now(list(ids), merge=True)


def test_a_duplicate_once_normalised_is_the_same_memory(call, alice_id, acme) -> None:
    first = store(call, alice_id, "Use Redis for sessions.", tags=["cache"])
    for variant in ("use  redis for\tSESSIONS.", "\uff35\uff53\uff45 Redis for sessions."):  # spacing, case, full-width
        again = store(call, alice_id, variant)
        assert again["duplicate"] is True and again["memory"]["id"] == first["memory"]["id"], variant
    assert Memory.unscoped.count() == 1
    kept = store(call, alice_id, "use redis for sessions.", keep_both=True)
    assert kept["duplicate"] is False and Memory.unscoped.count() == 2
    # Another scope is another memory.
    ok(call(alice_id, "create_project", name="Apollo"))
    other = store(call, alice_id, "USE REDIS FOR SESSIONS.", scope="project", project="apollo")
    assert other["duplicate"] is False


def test_the_embedding_task_merges_a_near_duplicate(call, alice_id, acme) -> None:
    older = store(call, alice_id, ORIGINAL, tags=["deploy"])["memory"]
    embed(older["id"])
    newer = store(call, alice_id, REWORDED, tags=["tls"])["memory"]
    embed(newer["id"])
    merged = ok(call(alice_id, "get_memory", memory=newer["id"]))
    assert merged["duplicate_of"] == older["id"] and merged["archived"] is True
    survivor = ok(call(alice_id, "get_memory", memory=older["id"]))
    assert survivor["tags"] == ["deploy", "tls"] and "duplicate_of" not in survivor
    activity = Activity.unscoped.get(type="memory.merged")
    assert str(activity.target_id) == older["id"] and activity.metadata["duplicate"] == newer["id"]
    # Search shows the survivor; asked for archived entries too, the duplicate says so.
    found = ok(call(alice_id, "search_memory", query="why did the staging deploy fail?"))["items"]
    assert [i["id"] for i in found if i["id"] in (older["id"], newer["id"])] == [older["id"]]
    everything = ok(call(alice_id, "search_memory", query="why did the staging deploy fail?", include_archived=True))
    by_id = {i["id"]: i for i in everything["items"]}
    assert by_id[newer["id"]]["duplicate_of"] == older["id"]
    assert merge_near_duplicate(newer["id"]) is None  # already merged: nothing more


def test_what_is_not_a_duplicate_stays(call, alice_id, acme) -> None:
    base = store(call, alice_id, "The API rejects payloads larger than 2 MB.")["memory"]
    embed(base["id"])
    other_number = store(call, alice_id, "The API rejects payloads larger than 5 MB.")["memory"]
    other_fact = store(call, alice_id, "The production deploy succeeded after renewing the certificate.")["memory"]
    kept = store(call, alice_id, "The API rejects payloads that are larger than 2 MB.", keep_both=True)["memory"]
    ok(call(alice_id, "create_project", name="Apollo"))
    other_scope = store(call, alice_id, "The API rejects payloads larger than 2 MB!", scope="project", project="apollo")
    embed(other_number["id"], other_fact["id"], kept["id"], other_scope["memory"]["id"])
    assert Memory.unscoped.filter(duplicate_of__isnull=False).count() == 0
    assert not Activity.unscoped.filter(type="memory.merged").exists()
    assert same_numbers("v1.2 on port 8080", "port 8080, v1.2") and not same_numbers("2 MB", "5 MB")


def test_the_command_finds_and_merges_stored_near_duplicates_with_a_dry_run(call, alice_id, acme) -> None:
    import io

    from django.core.management import call_command

    older = store(call, alice_id, ORIGINAL, tags=["deploy"])["memory"]
    newer = store(call, alice_id, REWORDED, tags=["tls"])["memory"]
    store(call, alice_id, "The API rejects payloads larger than 2 MB.")
    embed_now([str(pk) for pk in Memory.unscoped.values_list("pk", flat=True)])  # stored before merging existed
    dry = io.StringIO()
    call_command("merge_duplicates", "--dry-run", stdout=dry)
    assert f"{newer['id']} -> {older['id']}" in dry.getvalue()
    assert "1 near-duplicate memories would merge" in dry.getvalue()
    assert Memory.unscoped.filter(duplicate_of__isnull=False).count() == 0
    out = io.StringIO()
    call_command("merge_duplicates", "--org", "acme", stdout=out)
    assert "1 near-duplicate memories merged" in out.getvalue()
    assert str(Memory.unscoped.get(pk=newer["id"]).duplicate_of_id) == older["id"]
    assert Memory.unscoped.get(pk=older["id"]).tags == ["deploy", "tls"]
    again = io.StringIO()
    call_command("merge_duplicates", stdout=again)
    assert "0 near-duplicate memories merged" in again.getvalue()


def test_the_dashboard_lists_then_merges_stored_near_duplicates(call, alice_id, acme, alice, bob) -> None:
    from django.test import Client

    older = store(call, alice_id, ORIGINAL, tags=["deploy"])["memory"]
    newer = store(call, alice_id, REWORDED, tags=["tls"])["memory"]
    embed_now([str(pk) for pk in Memory.unscoped.values_list("pk", flat=True)])  # stored before merging existed
    owner, member = Client(), Client()
    owner.force_login(alice)
    member.force_login(bob)
    assert b"Find duplicates" in owner.get("/memories/").content
    assert b"Find duplicates" not in member.get("/memories/").content
    assert member.get("/memories/duplicates/").status_code == 403
    assert member.post("/memories/duplicates/").status_code == 403
    # The list is a dry run: it shows the pair and changes nothing.
    listed = owner.get("/memories/duplicates/")
    assert listed.status_code == 200 and b'id="merge-duplicates"' in listed.content
    assert newer["id"].encode() in listed.content and older["id"].encode() in listed.content
    assert not Memory.unscoped.filter(duplicate_of__isnull=False).exists()
    merged = owner.post("/memories/duplicates/", follow=True)
    assert b"Merged 1 near-duplicate memory." in merged.content
    assert str(Memory.unscoped.get(pk=newer["id"]).duplicate_of_id) == older["id"]
    activity = Activity.unscoped.get(type="memory.merged")
    assert activity.actor_user_id == alice.pk and activity.tool == "dashboard"
    assert b"No near duplicates found." in owner.get("/memories/duplicates/").content
