"""Ranking benchmark (not a test): how often the right memory comes first.

About 10,000 memories in one organization (real technical sentences and engineering
notes, bench_memory's corpus) plus two labelled sets:
- 210 paraphrased questions about facts that each name a project codename (the
  meaning decides: ten facts share each codename);
- 60 exact-term queries: an error string, an invented codename or a ticket id that
  appears in exactly one memory, among look-alike notes that differ only by that term
  (the words decide: the meaning is the same).

Prints hit@1 / hit@5 on each set for the keyword half alone, the vector half alone
(exact cosine order), the old reciprocal rank fusion (k=60, with its 0.2 cosine floor)
and the current fused search (memory.search.search), plus the spread of the scores
search returns. Goal (issue 17): fused hit@1 >= vector hit@1 and fused hit@5 >= both
halves on the paraphrases, without losing the keyword half's exact-term wins.

Run: `.venv/bin/python bench/bench_ranking.py [--rows 10000]`. It uses its own
embedded database (orchestra_bench_ranking) and caches the vectors in var/bench/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("EMBEDDED_DB_NAME", "orchestra_bench_ranking")

import bench_memory as corpus
from django.core.management import call_command
from django.db import connection

from accounts.models import Organization, User
from accounts.services import organization_create
from memory.embeddings import get_provider
from memory.keywords import _stats, keyword_plan
from memory.models import Memory
from memory.search import candidates, keyword_candidates, search, vector_candidates
from orchestra.tenancy import tenant_scope

ERRORS = [
    "ECONNRESET",
    "ERR_CERT_DATE_INVALID",
    "SQLSTATE 40P01",
    "OOMKilled",
    "CrashLoopBackOff",
    "EADDRINUSE",
    "ENOSPC",
    "SIGSEGV",
    "ImagePullBackOff",
    "ERR_HTTP2_PROTOCOL_ERROR",
    "psycopg.errors.SerializationFailure",
    "NoSuchBucket",
    "ThrottlingException",
    "x509: certificate signed by unknown authority",
    "ORA-00060",
    "MaxRetryError",
    "ETIMEDOUT",
    "DeadlineExceeded",
    "InvalidClientTokenId",
    "ERR_TOO_MANY_REDIRECTS",
]
INVENTED = [
    "Zephyrine",
    "Quillfeather",
    "Marrowgate",
    "Brassling",
    "Thornquist",
    "Velloria",
    "Okarina",
    "Drumlow",
    "Paxmire",
    "Sundertow",
    "Glimmerhook",
    "Ravensholt",
    "Kettleburn",
    "Ashcombe",
    "Wyndmere",
    "Corvantis",
    "Halloway",
    "Spindrel",
    "Yarrowby",
    "Fennimore",
]
TICKETS = [f"{('OPS', 'INC', 'SEC', 'DATA', 'WEB')[n % 5]}-{4411 + n}" for n in range(20)]
EXACT_TEMPLATES = [
    ("The nightly import job failed again; the logs show {t}.", "{t}"),
    ("Deploys to the staging cluster stalled; the pods report {t}.", "have we seen {t} before?"),
    ("The payment webhook retried three times and gave up with {t}.", "{t}"),
    ("Customer exports broke after the upgrade, tracked under {t}.", "what do we know about {t}?"),
]


def exact_term_set() -> tuple[list[str], list[tuple[str, str]]]:
    """(every memory, [(the memory holding the term, query)]): each template is used
    with many terms, so the look-alikes differ by the term alone."""
    terms = ERRORS + INVENTED + TICKETS
    memories: list[str] = []
    pairs: list[tuple[str, str]] = []
    for n, term in enumerate(terms):
        template, query = EXACT_TEMPLATES[n % len(EXACT_TEMPLATES)]
        memory = template.format(t=term)
        memories.append(memory)
        pairs.append((memory, query.format(t=term)))
    return memories, pairs


def vector_order(rows, vector: list[float], model_id: str, count: int) -> list[str]:
    """Cosine order through the HNSW index: search's own vector half and settings."""
    return corpus.contents(rows, [c.pk for c in vector_candidates(rows, vector, count, model_id)])


def rrf_order(rows, query: str, vector: list[float], model_id: str, count: int) -> list[str]:
    """The fusion before issue 17: reciprocal rank fusion (k=60) of 40 candidates from
    each half, vector candidates under cosine 0.2 dropped."""
    scores: dict[object, list[float]] = {}
    for position, found in enumerate(vector_candidates(rows, vector, 40, model_id), start=1):
        similarity = found.similarity or 0.0
        if similarity < 0.2:
            break
        scores.setdefault(found.pk, [0.0, 0, similarity])[0] += 1.0 / (60 + position)
        scores[found.pk][1] += 1
    for position, found in enumerate(keyword_candidates(rows, query, vector, 40), start=1):
        scores.setdefault(found.pk, [0.0, 0, found.similarity or 0.0])[0] += 1.0 / (60 + position)
        scores[found.pk][1] += 1
    return corpus.contents(rows, [pk for pk, _ in sorted(scores.items(), key=lambda kv: kv[1], reverse=True)][:count])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true", help="keep the rows a previous run seeded")
    parser.add_argument("--dump", type=Path, help="write each query's candidates and their evidence (JSON)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    provider = get_provider()
    facts = corpus.labelled()
    exact_memories, exact = exact_term_set()
    org = Organization.objects.filter(pk__in=Memory.unscoped.values("organization")).first()
    if not args.reuse or org is None or Memory.unscoped.filter(organization=org).count() != args.rows:
        stamp = int(time.time())
        user = User.objects.create_user(f"ranking{stamp}@bench.local")
        org = organization_create(name=f"Ranking {stamp}", owner=user)
        noise = corpus.noise_texts(args.rows - len(facts) - len(exact_memories), seed=1)
        texts = noise + [m for m, _ in facts] + exact_memories
        print(f"seeding {len(texts)} memories ...", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE memory_memory CASCADE")  # the bench's own database
        corpus.seed(org, texts, corpus.embed_cached(texts, "ranking"), provider.model_id)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE memory_memory")
    dump: list[dict[str, object]] = []
    _stats.clear()  # read the fresh statistics

    print(f"\nhit@1 / hit@5 on {args.rows} rows")
    with tenant_scope(org):
        rows = Memory.objects.filter(archived=False)
        for name, pairs in (("paraphrased", facts), ("exact-term", exact)):
            hits = {"keyword": [0, 0], "vector": [0, 0], "rrf (old)": [0, 0], "fused": [0, 0]}
            top_scores: list[float] = []
            right_scores: list[float] = []
            timings: list[float] = []
            for memory_text, query in pairs:
                vector = provider.embed([query])[0].tolist()
                started = time.perf_counter()
                found = search(rows, query, limit=5)
                timings.append((time.perf_counter() - started) * 1000)
                if args.dump:
                    found_all = candidates(rows, query, limit=5)
                    found_texts = corpus.contents(rows, [h.pk for h in found_all])
                    plan = keyword_plan(query, "memory_memory", rows)
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT tsvector_to_array(to_tsvector('english', c)) FROM unnest(%s::text[]) c",
                            [found_texts],
                        )
                        held = [row[0] for row in cursor.fetchall()]
                    dump.append(
                        {
                            "set": name,
                            "query": query,
                            "weights": plan.weights if plan else {},
                            "candidates": [
                                [h.similarity, h.coverage, text == memory_text, words]
                                for h, text, words in zip(found_all, found_texts, held, strict=True)
                            ],
                        }
                    )
                fused = [h.row.content for h in found]
                top_scores.append(found[0].score if found else 0.0)
                right_scores.extend(h.score for h in found if h.row.content == memory_text)
                ranked = {
                    "keyword": corpus.contents(rows, [m.pk for m in keyword_candidates(rows, query, vector, 5)]),
                    "vector": vector_order(rows, vector, provider.model_id, 5),
                    "rrf (old)": rrf_order(rows, query, vector, provider.model_id, 5),
                    "fused": fused,
                }
                for signal, order in ranked.items():
                    hits[signal][0] += bool(order) and order[0] == memory_text
                    hits[signal][1] += memory_text in order
            n = len(pairs)
            print(f"  {name} queries ({n}):")
            for signal, (at1, at5) in hits.items():
                print(f"    {signal:<10} {at1 / n:.3f} / {at5 / n:.3f}")
            right_scores.sort()
            print(
                f"    fused scores: right answer median {corpus.percentile(right_scores, 50):.2f} "
                f"(p10 {corpus.percentile(right_scores, 10):.2f}), top hit median "
                f"{corpus.percentile(top_scores, 50):.2f}; search {corpus.percentile(timings, 50):.1f} ms p50 "
                f"(query embedding included)"
            )
        # What an unrelated question scores: the threshold an agent can use.
        unrelated = [
            "What is the recipe for a good sourdough starter?",
            "Who won the football world cup in 1998?",
            "How tall is the Eiffel tower?",
            "Best hiking trails in the Alps in autumn",
            "How do I knit a scarf?",
        ]
        best = [search(rows, q, limit=1)[0].score for q in unrelated]
        print(f"  unrelated questions: best score {', '.join(f'{s:.2f}' for s in best)}")
    if args.dump:
        args.dump.write_text(json.dumps(dump))


if __name__ == "__main__":
    main()
