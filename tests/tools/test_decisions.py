"""The decision tools: logging with alternatives, superseding, status transitions, the
append-only discussion, lists and their query bounds, hybrid search on the memory engine,
embeddings (in-process, Celery task, re-enqueue, reembed), isolation, bad input, audit."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.auth import authenticate_token
from memory.embedding_jobs import wait_for_in_process_jobs
from memory.embeddings import EmbeddingError
from memory.models import EmbeddingStatus, Memory
from memory.tasks import MAX_RETRIES, embed_memories, embed_now, requeue_stale_pending
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.agents.models import Agent
from tools.decisions.models import Decision, DecisionComment

MISSING = "00000000-0000-4000-8000-000000000000"
LABEL = "decisions.Decision"


def log(call, identity, title: str, decision: str = "We do it.", **kwargs: Any) -> dict[str, Any]:
    return ok(call(identity, "log_decision", title=title, decision=decision, **kwargs))


def embed_all() -> None:
    embed_now([str(pk) for pk in Decision.unscoped.values_list("pk", flat=True)], LABEL)


def state() -> tuple[Any, ...]:
    """Everything a decision tool can write."""
    return (
        list(Decision.unscoped.order_by("pk").values_list("pk", "status", "outcome", "supersedes_id")),
        DecisionComment.unscoped.count(),
        Activity.unscoped.count(),
    )


def test_log_get_update_with_discussion(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    logged = log(
        call,
        alice_id,
        "  Use PostgreSQL for the event store ",
        "Events go to a PostgreSQL table, partitioned by month.",
        rationale="We already run PostgreSQL; one less system to operate.",
        context="Event volume is 2M rows a day.",
        alternatives=[
            {"option": "Kafka", "why_not": "A cluster to run for one consumer."},
            {"option": " EventStoreDB ", "why_not": " Nobody on the team knows it. "},
        ],
        tags=["Storage", "events", "storage"],
        project="apollo",
    )
    assert logged["title"] == "Use PostgreSQL for the event store" and logged["status"] == "proposed"
    assert logged["alternatives"][1] == {"option": "EventStoreDB", "why_not": "Nobody on the team knows it."}
    assert logged["tags"] == ["events", "storage"] and logged["project_id"]
    assert logged["author_id"] == str(alice_id.user_id) and logged["embedding_status"] == "pending"
    assert "supersedes_id" not in logged and "superseded_by_id" not in logged

    got = ok(call(alice_id, "get_decision", decision=logged["id"]))
    assert got["decision"] == logged["decision"] and "discussion" not in got and "outcome" not in got

    first = ok(call(alice_id, "update_decision", decision=logged["id"], comment="Checked the disk budget: fine."))
    assert first["status"] == "proposed" and [c["text"] for c in first["discussion"]] == [
        "Checked the disk budget: fine."
    ]
    accepted = ok(
        call(
            alice_id,
            "update_decision",
            decision=logged["id"],
            status="accepted",
            outcome="Shipped in v2; p99 write latency 4 ms.",
            comment="Agreed in the design review.",
        )
    )
    assert accepted["status"] == "accepted" and accepted["outcome"].startswith("Shipped in v2")
    discussion = accepted["discussion"]
    assert [c["text"] for c in discussion] == ["Checked the disk budget: fine.", "Agreed in the design review."]
    assert all(c["author_id"] == str(alice_id.user_id) and "agent_id" not in c for c in discussion)
    assert discussion[0]["created_at"] <= discussion[1]["created_at"]
    assert ok(call(alice_id, "get_decision", decision=logged["id"]))["discussion"] == discussion
    types = list(Activity.unscoped.order_by("created_at").values_list("type", flat=True))
    assert types == ["project.created", "decision.logged", "decision.updated", "decision.accepted"]


def test_a_named_agent_is_recorded_on_the_entry_and_the_audit_row(call, alice_id, acme) -> None:
    with tenant_scope(acme):
        scout = Agent.objects.create(organization=acme, name="Scout", slug="scout")
    logged = log(call, alice_id, "Cache tokens")
    updated = ok(
        call(alice_id, "update_decision", decision=logged["id"], comment="Measured: 3x faster.", agent="scout")
    )
    assert updated["discussion"][0]["agent_id"] == str(scout.pk)
    row = Activity.unscoped.get(type="decision.updated")
    assert row.agent_id == scout.pk and row.actor_user_id == alice_id.user_id and row.tool == "update_decision"
    assert row.target_type == "decision" and str(row.target_id) == logged["id"]
    assert row.metadata == {"fields": ["discussion"]}


def test_supersedes_marks_the_old_decision_in_the_same_transaction(call, alice_id, acme) -> None:
    old = log(call, alice_id, "Deploy with Ansible", status="accepted")
    new = log(call, alice_id, "Deploy with Kubernetes", status="accepted", supersedes=old["id"])
    assert new["supersedes_id"] == old["id"]
    got_old = ok(call(alice_id, "get_decision", decision=old["id"]))
    assert got_old["status"] == "superseded" and got_old["superseded_by_id"] == new["id"]
    got_new = ok(call(alice_id, "get_decision", decision=new["id"]))
    assert got_new["supersedes_id"] == old["id"] and "superseded_by_id" not in got_new
    listed = {d["id"]: d for d in ok(call(alice_id, "list_decisions"))["items"]}
    assert listed[old["id"]]["superseded_by_id"] == new["id"]

    audit = Activity.unscoped.filter(type__startswith="decision.").order_by("created_at")
    assert [(a.type, str(a.target_id)) for a in audit] == [
        ("decision.logged", old["id"]),
        ("decision.logged", new["id"]),
        ("decision.superseded", old["id"]),
    ]
    assert audit[2].metadata == {"from": "accepted", "by": new["id"]}

    # A superseded decision is final: superseding it again, or reviving it, is refused.
    before = state()
    again = call(alice_id, "log_decision", title="Deploy with Nomad", decision="x", supersedes=old["id"])
    assert error_code(again) == "conflict" and "already superseded" in again.structured["error"]["message"]
    assert error_code(call(alice_id, "update_decision", decision=old["id"], status="accepted")) == "conflict"
    assert state() == before


def test_a_proposed_decision_supersedes_only_once_accepted(call, alice_id, acme) -> None:
    old = log(call, alice_id, "Deploy with Ansible", status="accepted")
    new = log(call, alice_id, "Deploy with Kubernetes", supersedes=old["id"])
    assert new["status"] == "proposed"
    assert "supersedes_id" not in new and new["pending_supersedes_id"] == old["id"]
    got_old = ok(call(alice_id, "get_decision", decision=old["id"]))
    assert got_old["status"] == "accepted" and "superseded_by_id" not in got_old
    assert [d["title"] for d in ok(call(alice_id, "list_decisions", status="accepted"))["items"]] == [
        "Deploy with Ansible"
    ]
    logged = Activity.unscoped.get(type="decision.logged", target_id=new["id"])
    assert logged.metadata == {"status": "proposed", "pending_supersedes": old["id"]}
    assert not Activity.unscoped.filter(type="decision.superseded").exists()

    accepted = ok(call(alice_id, "update_decision", decision=new["id"], status="accepted"))
    assert accepted["status"] == "accepted"
    assert accepted["supersedes_id"] == old["id"] and "pending_supersedes_id" not in accepted
    got_old = ok(call(alice_id, "get_decision", decision=old["id"]))
    assert got_old["status"] == "superseded" and got_old["superseded_by_id"] == new["id"]
    audit = list(Activity.unscoped.filter(type__startswith="decision.").order_by("created_at"))
    assert [(a.type, str(a.target_id)) for a in audit][-2:] == [
        ("decision.accepted", new["id"]),
        ("decision.superseded", old["id"]),
    ]
    assert audit[-2].metadata == {"fields": ["status"], "from": "proposed", "supersedes": old["id"]}
    assert audit[-1].metadata == {"from": "accepted", "by": new["id"]}


def test_rejecting_a_proposal_leaves_the_old_decision_untouched(call, alice_id, acme) -> None:
    old = log(call, alice_id, "Tabs", status="accepted")
    proposal = log(call, alice_id, "Spaces", supersedes=old["id"])
    rejected = ok(call(alice_id, "update_decision", decision=proposal["id"], status="rejected"))
    assert rejected["status"] == "rejected"
    assert "supersedes_id" not in rejected and "pending_supersedes_id" not in rejected
    got_old = ok(call(alice_id, "get_decision", decision=old["id"]))
    assert got_old["status"] == "accepted" and "superseded_by_id" not in got_old
    dropped = Activity.unscoped.get(type="decision.rejected")
    assert dropped.metadata["dropped_pending_supersedes"] == old["id"]
    # The old decision can still be replaced by a later proposal once it is accepted.
    later = log(call, alice_id, "Spaces, four of them", supersedes=old["id"])
    ok(call(alice_id, "update_decision", decision=later["id"], status="accepted"))
    assert ok(call(alice_id, "get_decision", decision=old["id"]))["superseded_by_id"] == later["id"]


def test_competing_proposals_the_first_accepted_replaces_the_old_one(call, alice_id, acme) -> None:
    old = log(call, alice_id, "Weekly releases", status="accepted")
    daily = log(call, alice_id, "Daily releases", supersedes=old["id"])
    monthly = log(call, alice_id, "Monthly releases", supersedes=old["id"])
    ok(call(alice_id, "update_decision", decision=daily["id"], status="accepted"))
    before = state()
    late = call(alice_id, "update_decision", decision=monthly["id"], status="accepted", comment="Let's go")
    assert error_code(late) == "conflict"
    assert late.structured["error"]["message"] == (
        f"accepting this decision would supersede decision {old['id']}, which is already superseded: "
        "reject this one, or log a new decision that supersedes the current one"
    )
    assert state() == before  # neither decision, nor the discussion, nor the audit changed
    still = ok(call(alice_id, "get_decision", decision=monthly["id"]))
    assert still["status"] == "proposed" and still["pending_supersedes_id"] == old["id"]
    ok(call(alice_id, "update_decision", decision=monthly["id"], status="rejected"))
    assert ok(call(alice_id, "get_decision", decision=old["id"]))["superseded_by_id"] == daily["id"]


def test_a_superseded_proposal_drops_its_own_pending_supersession(call, alice_id, acme) -> None:
    base = log(call, alice_id, "REST", status="accepted")
    proposal = log(call, alice_id, "GraphQL", supersedes=base["id"])
    counter = log(call, alice_id, "gRPC", supersedes=proposal["id"], status="accepted")
    got = ok(call(alice_id, "get_decision", decision=proposal["id"]))
    assert got["status"] == "superseded" and "pending_supersedes_id" not in got
    assert got["superseded_by_id"] == counter["id"]
    assert ok(call(alice_id, "get_decision", decision=base["id"]))["status"] == "accepted"


def test_the_migration_pends_supersessions_applied_too_early(call, alice_id, acme) -> None:
    """Rows written by the old rule: a proposed decision whose `supersedes` was applied at
    once. The migration makes the link pending and gives the old decision its status back."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("tools.decisions.migrations.0003_pending_supersession")
    accepted = log(call, alice_id, "Old accepted", status="accepted")
    proposed = log(call, alice_id, "Old proposed")
    early = [log(call, alice_id, f"Early {n}") for n in range(2)]
    with tenant_scope(acme):
        for row, replaced in zip(early, (accepted, proposed), strict=True):
            Decision.objects.filter(pk=replaced["id"]).update(status="superseded")
            Decision.objects.filter(pk=row["id"]).update(supersedes=replaced["id"])
            Activity.objects.create(
                organization=acme,
                type="decision.superseded",
                target_type="decision",
                target_id=replaced["id"],
                metadata={"from": replaced["status"], "by": row["id"]},
            )
    migration.pend_premature_supersessions(apps, None)
    rows = {
        str(pk): (status, s, p)
        for pk, status, s, p in Decision.unscoped.values_list("pk", "status", "supersedes_id", "pending_supersedes_id")
    }
    assert rows[accepted["id"]] == ("accepted", None, None)
    assert rows[proposed["id"]] == ("proposed", None, None)
    assert rows[early[0]["id"]][1:] == (None, uuid.UUID(accepted["id"]))
    assert rows[early[1]["id"]][1:] == (None, uuid.UUID(proposed["id"]))
    ok(call(alice_id, "update_decision", decision=early[0]["id"], status="accepted"))
    assert ok(call(alice_id, "get_decision", decision=accepted["id"]))["status"] == "superseded"


def test_superseding_across_projects_or_as_a_rejected_decision_is_refused(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    org_wide = log(call, alice_id, "Tabs")
    before = state()
    across = call(alice_id, "log_decision", title="Spaces", decision="x", project="apollo", supersedes=org_wide["id"])
    assert error_code(across) == "invalid_arguments"
    rejected = call(
        alice_id, "log_decision", title="Spaces", decision="x", status="rejected", supersedes=org_wide["id"]
    )
    assert error_code(rejected) == "invalid_arguments"
    assert state() == before


def test_status_transitions(call, alice_id, acme) -> None:
    proposed = log(call, alice_id, "A")
    ok(call(alice_id, "update_decision", decision=proposed["id"], status="rejected"))
    for target in ("accepted", "superseded"):
        refused = call(alice_id, "update_decision", decision=proposed["id"], status=target)
        assert error_code(refused) == "conflict"
        assert refused.structured["error"]["message"] == (
            f"the decision is rejected: it cannot become {target} (allowed: none, it is final)"
        )
    accepted = log(call, alice_id, "B", status="accepted")
    refused = call(alice_id, "update_decision", decision=accepted["id"], status="rejected")
    assert refused.structured["error"]["message"] == (
        "the decision is accepted: it cannot become rejected (allowed: superseded)"
    )
    ok(call(alice_id, "update_decision", decision=accepted["id"], status="superseded"))
    # The current status again changes nothing and writes nothing.
    before = state()
    same = ok(call(alice_id, "update_decision", decision=accepted["id"], status="superseded"))
    assert same["status"] == "superseded" and state() == before
    assert [a.type for a in Activity.unscoped.order_by("created_at")][-2:] == ["decision.logged", "decision.superseded"]


def test_discussion_entries_are_append_only(call, alice_id, acme) -> None:
    logged = log(call, alice_id, "A")
    ok(call(alice_id, "update_decision", decision=logged["id"], comment="first"))
    entry = DecisionComment.unscoped.get()
    entry.text = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    assert DecisionComment.unscoped.get().text == "first"


def test_the_discussion_is_bounded(call, alice_id, acme, monkeypatch) -> None:
    monkeypatch.setattr("tools.decisions.services.MAX_DISCUSSION", 2)
    logged = log(call, alice_id, "A")
    for text in ("one", "two"):
        ok(call(alice_id, "update_decision", decision=logged["id"], comment=text))
    before = state()
    full = call(alice_id, "update_decision", decision=logged["id"], comment="three", status="accepted")
    assert error_code(full) == "conflict" and "discussion is full" in full.structured["error"]["message"]
    assert state() == before


def test_list_filters_and_keyset_pages_in_bounded_queries(call, alice_id, acme, django_assert_max_num_queries) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    for n in range(7):
        log(call, alice_id, f"Decision {n}", project="apollo" if n % 2 else None, tags=["db"] if n < 3 else [])
    old = log(call, alice_id, "Old", status="accepted")
    log(call, alice_id, "New", supersedes=old["id"], status="accepted")
    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(6):
            page = ok(call(alice_id, "list_decisions", limit=3, cursor=cursor))
        seen += [d["title"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["New", "Old", *[f"Decision {n}" for n in reversed(range(7))]]
    with django_assert_max_num_queries(6):
        full = ok(call(alice_id, "list_decisions", limit=100))["items"]
    assert len(full) == 9 and {d["title"]: "superseded_by_id" in d for d in full}["Old"]
    project = [d["title"] for d in ok(call(alice_id, "list_decisions", project="apollo"))["items"]]
    assert project == ["Decision 5", "Decision 3", "Decision 1"]
    tagged = [d["title"] for d in ok(call(alice_id, "list_decisions", tag="DB"))["items"]]
    assert tagged == ["Decision 2", "Decision 1", "Decision 0"]
    superseded = ok(call(alice_id, "list_decisions", status="superseded"))["items"]
    assert [d["title"] for d in superseded] == ["Old"]
    both = ok(call(alice_id, "list_decisions", project="apollo", tag="db", status="proposed"))["items"]
    assert [d["title"] for d in both] == ["Decision 1"]


def test_get_answers_in_bounded_queries_whatever_the_discussion(
    call, alice_id, acme, django_assert_max_num_queries
) -> None:
    old = log(call, alice_id, "Old", status="accepted")
    new = log(call, alice_id, "New", supersedes=old["id"], status="accepted")
    for n in range(12):
        ok(call(alice_id, "update_decision", decision=new["id"], comment=f"entry {n}"))
    with django_assert_max_num_queries(5):
        got = ok(call(alice_id, "get_decision", decision=new["id"]))
    assert len(got["discussion"]) == 12 and got["supersedes_id"] == old["id"]


def test_search_fuses_meaning_and_words_with_filters_inside(call, alice_id, acme) -> None:
    ok(call(alice_id, "create_project", name="Apollo"))
    log(
        call,
        alice_id,
        "Retry failed webhooks with exponential backoff",
        "Webhook deliveries that fail are retried with exponential backoff for a day.",
        status="accepted",
        tags=["webhooks"],
    )
    log(call, alice_id, "Office plants", "We buy three ferns for the lobby.", project="apollo")
    log(
        call,
        alice_id,
        "Rotate API keys quarterly",
        "Every API key is rotated each quarter.",
        project="apollo",
        tags=["security"],
    )
    embed_all()
    pending = log(call, alice_id, "Zebra sensors", "Recalibrate the zebra crossing sensors monthly.")
    found = ok(call(alice_id, "search_decisions", query="what happens when a callback to a customer endpoint fails?"))
    top = found["items"][0]
    assert top["title"] == "Retry failed webhooks with exponential backoff"
    assert "vector" in top["matched"] and top["similarity"] > 0.3 and top["score"] > 0
    by_words = ok(call(alice_id, "search_decisions", query="zebra recalibrate"))["items"]
    assert by_words[0]["id"] == pending["id"] and by_words[0]["pending"] is True
    assert by_words[0]["matched"] == ["keyword"] and "similarity" not in by_words[0]

    in_project = ok(call(alice_id, "search_decisions", query="rotate keys", project="apollo"))["items"]
    assert in_project and all("project_id" in i for i in in_project)
    assert in_project[0]["title"] == "Rotate API keys quarterly"
    accepted = ok(call(alice_id, "search_decisions", query="rotate keys webhooks", status="accepted"))["items"]
    assert [i["title"] for i in accepted] == ["Retry failed webhooks with exponential backoff"]
    tagged = ok(call(alice_id, "search_decisions", query="keys", tags=["Security"]))["items"]
    assert [i["title"] for i in tagged] == ["Rotate API keys quarterly"]
    strict = ok(call(alice_id, "search_decisions", query="webhook retries", min_similarity=0.99))["items"]
    assert all("similarity" not in i or i["similarity"] >= 0.99 for i in strict)


def test_another_organization_cannot_reach_decisions(call, alice_id, charlie_id, acme, globex) -> None:
    mine = log(call, alice_id, "Acme secret roadmap", "Ship the moon base.", status="accepted")
    embed_all()
    for ref in (mine["id"], MISSING):
        for tool, extra in (("get_decision", {}), ("update_decision", {"comment": "pwned"})):
            outcome = call(charlie_id, tool, decision=ref, **extra)
            assert error_code(outcome) == "not_found"
            assert outcome.structured["error"]["message"] == f"decision not found: {ref}"
        stolen = call(charlie_id, "log_decision", title="Mine now", decision="x", supersedes=ref)
        assert stolen.structured["error"]["message"] == f"supersedes not found: {ref}"
    assert ok(call(charlie_id, "list_decisions"))["items"] == []
    assert ok(call(charlie_id, "search_decisions", query="secret roadmap moon base"))["items"] == []
    with tenant_scope(acme):
        row = Decision.objects.get()
    assert row.status == "accepted" and DecisionComment.unscoped.count() == 0
    assert Decision.unscoped.count() == 1


def test_a_project_restricted_token_sees_its_project_only(call, alice, acme, alice_id, issue_token) -> None:
    allowed = ok(call(alice_id, "create_project", name="Allowed"))
    ok(call(alice_id, "create_project", name="Other"))
    other = log(call, alice_id, "Other's decision", project="other")
    org_wide = log(call, alice_id, "Organization decision")
    restricted = authenticate_token(issue_token(alice, acme, project_id=allowed["id"]))
    own = log(call, restricted, "Restricted decision")
    assert own["project_id"] == allowed["id"]
    assert [d["title"] for d in ok(call(restricted, "list_decisions"))["items"]] == ["Restricted decision"]
    for ref in (other["id"], org_wide["id"]):
        assert error_code(call(restricted, "get_decision", decision=ref)) == "not_found"
    assert error_code(call(restricted, "list_decisions", project="other")) == "not_found"
    assert [i["title"] for i in ok(call(restricted, "search_decisions", query="decision"))["items"]] == [
        "Restricted decision"
    ]


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("log_decision", {"title": "t"}),
        ("log_decision", {"title": "", "decision": "d"}),
        ("log_decision", {"title": "   ", "decision": "d"}),
        ("log_decision", {"title": "t", "decision": "  "}),
        ("log_decision", {"title": "x" * 201, "decision": "d"}),
        ("log_decision", {"title": "t", "decision": "d", "status": "maybe"}),
        ("log_decision", {"title": "t", "decision": "d", "alternatives": [{"option": "Kafka"}]}),
        ("log_decision", {"title": "t", "decision": "d", "alternatives": [{"option": "K", "why_not": "  "}]}),
        ("log_decision", {"title": "t", "decision": "d", "alternatives": [{"option": "K", "why_not": "x"}] * 2}),
        (
            "log_decision",
            {"title": "t", "decision": "d", "alternatives": [{"option": f"{n}", "why_not": "x"} for n in range(11)]},
        ),
        ("log_decision", {"title": "t", "decision": "d", "alternatives": "Kafka"}),
        ("log_decision", {"title": "t", "decision": "d", "tags": "not-a-list"}),
        ("log_decision", {"title": "t", "decision": "d", "project": "nowhere"}),
        ("log_decision", {"title": "t", "decision": "d", "supersedes": MISSING}),
        ("log_decision", {"title": "t", "decision": "d", "supersedes": "not-an-id"}),
        ("log_decision", {"title": "t", "decision": "d", "unknown": 1}),
        ("update_decision", {"decision": "EXISTING"}),
        ("update_decision", {"decision": "EXISTING", "comment": "   "}),
        ("update_decision", {"decision": "EXISTING", "comment": "x" * 4001}),
        ("update_decision", {"decision": "EXISTING", "status": "proposed"}),
        ("update_decision", {"decision": "EXISTING", "status": "accepted", "agent": "nobody"}),
        ("update_decision", {"decision": MISSING, "comment": "hi"}),
        ("get_decision", {"decision": "not-an-id"}),
        ("list_decisions", {"limit": 0}),
        ("list_decisions", {"limit": 101}),
        ("list_decisions", {"status": "gone"}),
        ("list_decisions", {"cursor": "!!bad!!"}),
        ("search_decisions", {"query": ""}),
        ("search_decisions", {"query": "x", "limit": 51}),
        ("search_decisions", {"query": "x", "min_similarity": 1.5}),
        ("search_decisions", {"query": "x", "status": "maybe"}),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, acme, tool, arguments) -> None:
    existing = log(call, alice_id, "Existing", status="accepted")
    arguments = {k: existing["id"] if v == "EXISTING" else v for k, v in arguments.items()}
    before = state()
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) in ("invalid_arguments", "not_found")
    assert outcome.structured["error"]["message"]
    assert state() == before


def test_the_task_embeds_decisions_and_marks_them_failed_after_its_last_retry(
    call, alice_id, acme, monkeypatch
) -> None:
    good = log(call, alice_id, "Embedded by the task")
    embed_memories.apply(args=[[good["id"]], LABEL])
    assert Decision.unscoped.get(pk=good["id"]).embedding_status == EmbeddingStatus.READY
    bad = log(call, alice_id, "Will not embed")

    class Broken:
        model_id, dimensions = "broken", 384

        def embed(self, texts: list[str]) -> Any:
            raise EmbeddingError("endpoint down")

    monkeypatch.setattr("memory.tasks.get_provider", lambda: Broken())
    embed_memories.apply(args=[[bad["id"]], LABEL], retries=MAX_RETRIES)
    row = Decision.unscoped.get(pk=bad["id"])
    assert row.embedding_status == EmbeddingStatus.FAILED and row.embedding_error == "endpoint down"


def test_requeue_covers_stale_decisions_and_memories(call, alice_id, acme, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the re-enqueued task runs here
    stale = log(call, alice_id, "Stale decision")
    fresh = log(call, alice_id, "Fresh decision")
    memory = ok(call(alice_id, "store_memory", content="Stale memory"))["memory"]
    long_ago = timezone.now() - timedelta(hours=1)
    Decision.unscoped.filter(pk=stale["id"]).update(created_at=long_ago)
    Memory.unscoped.filter(pk=memory["id"]).update(created_at=long_ago)
    assert requeue_stale_pending() == 2  # the two stale rows, not the fresh one
    statuses = dict(Decision.unscoped.values_list("title", "embedding_status"))
    # The stale decision's task filled its batch with the other pending decision
    # (memory.tasks.FILL_TO): nothing waits for its own task.
    assert statuses == {"Stale decision": "ready", "Fresh decision": "ready"}
    assert Memory.unscoped.get().embedding_status == "ready"
    assert fresh["embedding_status"] == "pending"


def test_reembed_covers_decisions(call, alice_id, acme) -> None:
    for n in range(3):
        log(call, alice_id, f"Decision {n} about retries")
    ok(call(alice_id, "store_memory", content="a memory about retries"))
    out = io.StringIO()
    call_command("reembed", "--org", "acme", "--batch-size", "2", stdout=out)
    assert "3 decisions to embed" in out.getvalue() and "Embedded 3 decisions" in out.getvalue()
    assert "1 memories to embed" in out.getvalue()
    assert set(Decision.unscoped.values_list("embedding_status", flat=True)) == {"ready"}
    again = io.StringIO()
    call_command("reembed", stdout=again)
    assert "0 decisions to embed" in again.getvalue()


@pytest.mark.django_db(transaction=True)
def test_embedding_runs_in_process_after_commit(call, alice_id, acme) -> None:
    logged = log(call, alice_id, "Embedded after the transaction commits")
    wait_for_in_process_jobs()
    row = Decision.unscoped.get(pk=logged["id"])
    assert row.embedding_status == EmbeddingStatus.READY and row.embedding is not None
    found = ok(call(alice_id, "search_decisions", query="embedded once committed"))["items"]
    assert found[0]["id"] == logged["id"] and "vector" in found[0]["matched"]


def test_activity_rows_of_updates_and_supersessions_name_the_decision(call, alice_id, acme) -> None:
    from tools.activity.models import Activity

    old = ok(call(alice_id, "log_decision", title="Use MySQL", decision="MySQL", status="accepted"))
    new = ok(call(alice_id, "log_decision", title="Use PostgreSQL", decision="PostgreSQL", supersedes=old["id"]))
    ok(call(alice_id, "update_decision", decision=new["id"], comment="Agreed"))
    ok(call(alice_id, "update_decision", decision=new["id"], status="accepted"))
    rows = {a.type: a.description for a in Activity.unscoped.filter(organization=acme)}
    assert rows["decision.superseded"] == "Use MySQL superseded by Use PostgreSQL"
    assert rows["decision.updated"] == rows["decision.accepted"] == "Use PostgreSQL"
