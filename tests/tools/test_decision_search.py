"""search_decisions searches the alternatives and the discussion too (by their words),
scores 0-1 like search_memory, and takes min_score."""

from __future__ import annotations

from typing import Any

from django.db import connection

from memory.tasks import embed_now
from tests.conftest import ok
from tools.decisions.models import Decision

LABEL = "decisions.Decision"


def log(call, identity, title: str, decision: str, **kwargs: Any) -> dict[str, Any]:
    return ok(call(identity, "log_decision", title=title, decision=decision, **kwargs))


def embed_all() -> None:
    embed_now([str(pk) for pk in Decision.unscoped.values_list("pk", flat=True)], LABEL)


def titles(call, identity, **arguments: Any) -> list[str]:
    return [item["title"] for item in ok(call(identity, "search_decisions", **arguments))["items"]]


def test_a_rejected_alternative_is_found_by_its_words(call, alice_id, acme) -> None:
    card = log(
        call,
        alice_id,
        "Take card payments through a hosted checkout page",
        "Customers pay on the provider's hosted page; our servers never see card numbers.",
        rationale="Less to operate.",
        alternatives=[
            {"option": "Our own card form", "why_not": "PCI DSS scope: SAQ D instead of SAQ A, a yearly audit."},
        ],
        status="accepted",
    )
    log(call, alice_id, "Office plants", "We buy three ferns for the lobby.")
    log(call, alice_id, "Weekly release train", "We ship every Tuesday after QA sign-off.")
    embed_all()
    for query in ("PCI", "SAQ", "SAQ D audit"):
        items = ok(call(alice_id, "search_decisions", query=query))["items"]
        assert items[0]["id"] == card["id"], (query, items)
        assert "keyword" in items[0]["matched"]
    # Before this, only title, decision, rationale and context were searched.
    assert titles(call, alice_id, query="PCI", min_score=0.5) == ["Take card payments through a hosted checkout page"]


def test_the_discussion_is_found_by_its_words_once_added(call, alice_id, acme) -> None:
    queue = log(call, alice_id, "Queue for background jobs", "Celery with Redis as the broker.")
    log(call, alice_id, "Office plants", "We buy three ferns for the lobby.")
    embed_all()
    assert "Queue for background jobs" not in titles(call, alice_id, query="Kafka", min_score=0.3)
    ok(call(alice_id, "update_decision", decision=queue["id"], comment="Kafka was discussed: too heavy for us."))
    ok(call(alice_id, "update_decision", decision=queue["id"], comment="Revisit Dramatiq next year."))
    for query in ("Kafka", "Dramatiq"):
        assert titles(call, alice_id, query=query)[0] == "Queue for background jobs", query
    # The discussion is searched by words only: the embedded text did not change.
    row = Decision.unscoped.get(pk=queue["id"])
    assert "Kafka" not in row.embedding_text() and row.embedding_status == "ready"


def test_existing_decisions_are_searchable_after_the_migration(call, alice_id, acme) -> None:
    """The migration filled the column for decisions logged before it: the same SQL,
    run on a row whose column was emptied, gives the same text back."""
    logged = log(
        call,
        alice_id,
        "Hosted checkout",
        "Customers pay on a hosted page.",
        alternatives=[{"option": "Own form", "why_not": "PCI scope"}],
    )
    ok(call(alice_id, "update_decision", decision=logged["id"], comment="SAQ A applies."))
    expected = Decision.unscoped.get(pk=logged["id"]).searchable_extra
    assert expected == "Own form: PCI scope\nSAQ A applies."
    from importlib import import_module

    migration = import_module("tools.decisions.migrations.0005_search_alternatives_and_discussion")
    sql = next(op.sql for op in migration.Migration.operations if hasattr(op, "sql"))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE decisions_decision SET searchable_extra = ''")
        cursor.execute(sql)
    assert Decision.unscoped.get(pk=logged["id"]).searchable_extra == expected


def test_scores_are_relevances_and_min_score_filters(call, alice_id, acme) -> None:
    log(call, alice_id, "Retry failed webhooks with backoff", "Failed webhook deliveries are retried for a day.")
    log(call, alice_id, "Office plants", "We buy three ferns for the lobby.")
    embed_all()
    items = ok(call(alice_id, "search_decisions", query="what happens when a webhook delivery fails?"))["items"]
    assert items[0]["title"] == "Retry failed webhooks with backoff"
    assert all(0.0 <= i["score"] <= 1.0 and "pending" not in i for i in items)
    assert items[0]["score"] > 0.6 > items[-1]["score"]
    strict = ok(call(alice_id, "search_decisions", query="what happens when a webhook delivery fails?", min_score=0.6))
    assert [i["title"] for i in strict["items"]] == ["Retry failed webhooks with backoff"]
