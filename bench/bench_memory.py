"""Memory benchmark (not a test): 100,000 memories in one organization.

Prints, in one run:
- store throughput end to end (rows/s through the tool, embedding included);
- search_memory latency through the tool, query embedding included (p50/p95/p99);
- HNSW recall@10 against exact search, for the big organization and for a small one
  (1,000 rows) sharing the table;
- retrieval quality on 200+ labelled paraphrased queries: hit@1 and hit@5 for
  keyword only, vector only and the fused search.
Goals (issue 4): p95 < 25 ms, recall@10 >= 0.95, fused hit@5 above both signals,
embedding >= 300 entries/s per worker.

Run: `.venv/bin/python bench/bench_memory.py [--rows 100000]`. It uses its own
embedded database (orchestra_bench) and caches the seeded vectors in var/bench/.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import random
import re
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra.settings")
os.environ.setdefault("EMBEDDED_DB_NAME", "orchestra_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("MCP_RATE_LIMIT_PER_MINUTE", "100000000")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts.auth import authenticate_token  # noqa: E402
from accounts.models import Organization, User  # noqa: E402
from accounts.services import organization_create, token_create  # noqa: E402
from memory.embedding_jobs import wait_for_in_process_jobs  # noqa: E402
from memory.embeddings import get_provider  # noqa: E402
from memory.models import HNSW_EF_CONSTRUCTION, HNSW_M, EmbeddingStatus, Memory  # noqa: E402
from memory.search import EF_SEARCH  # noqa: E402
from memory.services import content_hash  # noqa: E402
from orchestra.tenancy import tenant_scope  # noqa: E402
from tools.mcp.dispatch import call_tool  # noqa: E402

# --- realistic text -------------------------------------------------------------------
AREAS = [
    "checkout service",
    "billing webhook",
    "search index",
    "auth middleware",
    "Celery worker",
    "mobile app",
    "admin dashboard",
    "onboarding flow",
    "rate limiter",
    "CI pipeline",
    "staging cluster",
    "data warehouse",
    "notification service",
    "feature-flag system",
    "GraphQL gateway",
    "image resizer",
    "PDF exporter",
    "audit log",
    "SSO integration",
    "cron scheduler",
]
VERBS = [
    "failed on",
    "got slower after",
    "was refactored during",
    "needs a follow-up about",
    "was rolled back after",
    "passed review with",
    "broke because of",
    "was documented alongside",
    "was load-tested against",
    "depends on",
]
DETAILS = [
    "a missing index on created_at",
    "a race between two workers",
    "an expired TLS certificate",
    "a memory leak in the JSON encoder",
    "the retry backoff being too short",
    "a flaky integration test",
    "the upgrade to PostgreSQL 17",
    "a misconfigured proxy buffer",
    "a timezone bug around midnight UTC",
    "a stale cache entry",
    "an N+1 query in the list view",
    "a schema migration that locked the table",
    "the new pagination cursor",
    "a bad environment variable",
    "a third-party API rate limit",
]
PEOPLE = ["Alice", "Bob", "Chen", "Dara", "Emeka", "Farah", "Gus", "Hana", "Ivo", "Jun"]
TAILS = [
    "Ticket filed.",
    "Fix is in review.",
    "Monitoring added.",
    "Needs a design note.",
    "Owner: {p}.",
    "Discussed in standup.",
    "Postmortem scheduled.",
    "Workaround documented.",
    "",
]

# Labelled facts: (memory, paraphrased query). Each codename makes the pair unique.
FACTS = [
    (
        "We store session tokens for {c} in Redis because PostgreSQL writes were too slow.",
        "Why does {c} keep auth sessions in the in-memory cache instead of the database?",
    ),
    (
        "The {c} release train ships every second Tuesday after the QA sign-off.",
        "How often does {c} deploy, and what must happen first?",
    ),
    (
        "{c} uses feature flags so product managers can enable beta features per customer.",
        "How do PMs switch on experimental functionality for individual clients in {c}?",
    ),
    (
        "The {c} API rejects payloads larger than 2 MB with HTTP 413.",
        "What is the maximum request body size accepted by {c}?",
    ),
    (
        "Logs for {c} are kept for 30 days in the S3 bucket, then deleted.",
        "How long do we retain {c} log files before they are purged?",
    ),
    (
        "{c} on-call engineers must acknowledge pages within 15 minutes.",
        "What is the response-time expectation for {c} pager alerts?",
    ),
    (
        "The {c} database is backed up nightly at 02:00 UTC with point-in-time recovery.",
        "When do {c} DB snapshots run and can we restore to an exact moment?",
    ),
    (
        "{c} translations are managed in Crowdin and synced by a GitHub Action.",
        "Where do the {c} localisation strings live and how do they get updated?",
    ),
    (
        "For {c} we chose Stripe over Adyen because of its simpler subscription API.",
        "Which payment provider did {c} pick and why not the alternative?",
    ),
    (
        "{c} mobile builds are signed on a dedicated Mac mini in the office.",
        "Which machine produces the signed iOS/Android packages of {c}?",
    ),
]
CODENAMES = [
    "Bluefin",
    "Marlin",
    "Osprey",
    "Kestrel",
    "Juniper",
    "Saffron",
    "Quartz",
    "Tundra",
    "Nimbus",
    "Cobalt",
    "Falcon",
    "Heron",
    "Lynx",
    "Orca",
    "Puma",
    "Raven",
    "Sable",
    "Tern",
    "Umber",
    "Vireo",
    "Wren",
]


def real_sentences() -> list[str]:
    """Sentences people wrote: the docstrings of the packages this project installs
    (about 58,000 distinct ones), so the corpus has the spread of real technical text
    rather than a few templates' near-duplicates (which make HNSW recall meaningless)."""
    global _REAL
    if _REAL is None:
        site = Path(sysconfig.get_paths()["purelib"])
        seen: set[str] = set()
        found: list[str] = []
        for path in sorted(site.rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(errors="ignore"))
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
                    continue
                for paragraph in (ast.get_docstring(node) or "").split("\n\n"):
                    for sentence in SENTENCE_END.split(" ".join(paragraph.split())):
                        if _usable(sentence) and sentence.lower() not in seen:
                            seen.add(sentence.lower())
                            found.append(sentence)
        _REAL = found
    return _REAL


_REAL: list[str] | None = None


def _usable(sentence: str) -> bool:
    return (
        40 <= len(sentence) <= 240 and sentence[0].isupper() and sentence.endswith(".") and not MARKUP.search(sentence)
    )


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
MARKUP = re.compile(r"[{}<>`=:]{2}|>>>|\.\.\.|::|\$|\\")


def noise_texts(count: int, seed: int) -> list[str]:
    """`count` distinct memories: 60% real sentences (in a seed-dependent order), the
    rest engineering notes from templates with a real sentence as their detail."""
    rng = random.Random(seed)
    real = list(real_sentences())
    rng.shuffle(real)
    n_real = min(len(real) // 2, int(count * 0.6))
    texts = real[:n_real]
    spare = real[n_real:] or ["No further details."]
    for i in range(count - n_real):
        note = f"The {rng.choice(AREAS)} {rng.choice(VERBS)} {rng.choice(DETAILS)} (#{i})."
        texts.append(f"{note} {rng.choice(spare)} {rng.choice(TAILS).format(p=rng.choice(PEOPLE))}".strip())
    rng.shuffle(texts)
    return texts


def labelled() -> list[tuple[str, str]]:
    return [(m.format(c=c), q.format(c=c)) for c in CODENAMES for m, q in FACTS]


# --- seeding --------------------------------------------------------------------------
def embed_cached(texts: list[str], name: str) -> np.ndarray:
    fingerprint = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:12]
    cache = ROOT / "var" / "bench" / f"{name}-{len(texts)}-{fingerprint}.npy"
    if cache.exists():
        return np.load(cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    provider = get_provider()
    started = time.perf_counter()
    vectors = np.vstack([provider.embed(texts[i : i + 2048]) for i in range(0, len(texts), 2048)])
    print(f"  embedded {len(texts)} texts in {time.perf_counter() - started:.0f} s (cached for next runs)", flush=True)
    np.save(cache, vectors)
    return vectors


def seed(org: Organization, texts: list[str], vectors: np.ndarray, model_id: str) -> None:
    batch = []
    for raw, vector in zip(texts, vectors, strict=True):
        text = raw.replace("\x00", "")  # a docstring or two hold one; the tokenizer drops it too
        batch.append(
            Memory(
                organization=org,
                scope="organization",
                content=text,
                content_hash=content_hash(text),
                embedding=vector,
                embedding_model=model_id,
                embedding_status=EmbeddingStatus.READY,
            )
        )
        if len(batch) == 2000:
            Memory.unscoped.bulk_create(batch)
            batch = []
    if batch:
        Memory.unscoped.bulk_create(batch)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    provider = get_provider()
    stamp = int(time.time())

    def new_org(name: str) -> tuple[Organization, str]:
        user = User.objects.create_user(f"{name.lower()}{stamp}@bench.local")
        org = organization_create(name=f"{name} {stamp}", owner=user)
        return org, token_create(organization=org, user=user, name="bench").raw

    big, big_token = new_org("Big")
    small, _ = new_org("Small")
    other, _ = new_org("Other")
    facts = labelled()
    noise = noise_texts(args.rows - len(facts), seed=1)
    big_texts = noise + [m for m, _ in facts]
    print(f"seeding {len(big_texts)} memories (+1,000 in a small organization, +5,000 in another) ...", flush=True)
    with connection.cursor() as cursor:
        # orchestra_bench is the bench's own database: start from an empty table each run.
        cursor.execute("TRUNCATE memory_memory CASCADE")
        cursor.execute("DROP INDEX IF EXISTS memory_embedding_hnsw")
    seed(big, big_texts, embed_cached(big_texts, "big"), provider.model_id)
    small_texts = noise_texts(1000, seed=2)
    seed(small, small_texts, embed_cached(small_texts, "small"), provider.model_id)
    other_texts = [m for m, _ in facts][:50] + noise_texts(4950, seed=3)  # look-alikes that must never come back
    seed(other, other_texts, embed_cached(other_texts, "other"), provider.model_id)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET statement_timeout = 0")  # the index build takes longer than a request may
        cursor.execute(
            "CREATE INDEX memory_embedding_hnsw ON memory_memory USING hnsw (embedding vector_cosine_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
        )
        cursor.execute("ANALYZE memory_memory")
    print(f"HNSW index built in {time.perf_counter() - started:.0f} s", flush=True)

    big_id = authenticate_token(big_token)

    # Store throughput, end to end: through the tool, embedding included.
    fresh = noise_texts(1000, seed=99)
    fresh = [f"{t} Fresh entry {i}." for i, t in enumerate(fresh)]
    started = time.perf_counter()
    for text in fresh:
        assert not call_tool("store_memory", {"content": text}, big_id).is_error
    wait_for_in_process_jobs()
    elapsed = time.perf_counter() - started
    ready = Memory.unscoped.filter(organization=big, content__in=fresh, embedding_status=EmbeddingStatus.READY).count()
    print(f"\nstore: {len(fresh) / elapsed:.0f} rows/s end to end ({ready}/{len(fresh)} embedded)")
    texts = noise_texts(2000, seed=5)
    provider.embed(texts[:64])
    started = time.perf_counter()
    provider.embed(texts)
    print(f"embedding alone: {len(texts) / (time.perf_counter() - started):.0f} entries/s (goal >= 300)")

    # Search latency through the tool.
    rng = random.Random(3)
    queries = [q for _, q in facts] + [f"what happened with the {rng.choice(AREAS)}" for _ in range(100)]
    latencies = []
    for query in queries[: args.queries]:
        started = time.perf_counter()
        outcome = call_tool("search_memory", {"query": query, "limit": 10}, big_id)
        latencies.append((time.perf_counter() - started) * 1000)
        assert not outcome.is_error
    print(
        f"search_memory (tool, query embedding included): p50 {percentile(latencies, 50):.1f} ms, "
        f"p95 {percentile(latencies, 95):.1f} ms, p99 {percentile(latencies, 99):.1f} ms (goal p95 < 25 ms)"
    )

    # Where a search's time goes: the query embedding, the vector and the keyword query.
    from memory.search import keyword_candidates, vector_candidates

    parts: dict[str, list[float]] = {"embedding": [], "vector query": [], "keyword query": []}
    with tenant_scope(big):
        rows = Memory.objects.filter(archived=False)
        for query in queries[: args.queries]:
            started = time.perf_counter()
            vector = provider.embed([query])[0].tolist()
            embedded = time.perf_counter()
            vector_candidates(rows, vector, 40, provider.model_id)
            by_vector = time.perf_counter()
            keyword_candidates(rows, query, vector, 40)
            by_words = time.perf_counter()
            parts["embedding"].append((embedded - started) * 1000)
            parts["vector query"].append((by_vector - embedded) * 1000)
            parts["keyword query"].append((by_words - by_vector) * 1000)
    print(
        "  parts (p50 / p95 ms): "
        + ", ".join(f"{name} {percentile(v, 50):.1f} / {percentile(v, 95):.1f}" for name, v in parts.items())
    )

    # HNSW recall@10 against exact search.
    def recall(org: Organization, sample: list[str], ef_search: int = EF_SEARCH) -> float:
        vectors = provider.embed(sample)
        found = 0
        for vector in vectors:
            literal = "[" + ",".join(f"{x:.7f}" for x in vector) + "]"
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
                cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                sql = (
                    "SELECT id FROM memory_memory WHERE organization_id = %s ORDER BY embedding <=> %s::vector LIMIT 10"
                )
                cursor.execute(sql, [org.pk, literal])
                approximate = {row[0] for row in cursor.fetchall()}
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute(sql, [org.pk, literal])
                exact = {row[0] for row in cursor.fetchall()}
                cursor.execute("COMMIT")
            found += len(approximate & exact)
        return found / (10 * len(sample))

    sample = [q for _, q in facts][:60] + noise_texts(40, seed=11)
    print(
        f"HNSW recall@10 at ef_search={EF_SEARCH}: big organization {recall(big, sample):.3f}, "
        f"small organization (1,000 rows) {recall(small, sample):.3f} (goal >= 0.95)"
    )
    for ef_search in (40, 200, 400):
        print(f"  at ef_search={ef_search}: big organization {recall(big, sample, ef_search):.3f}")

    # Retrieval quality on the labelled paraphrases.
    from pgvector.django import CosineDistance

    from memory.search import keyword_candidates, search

    hits = {"keyword": [0, 0], "vector": [0, 0], "fused": [0, 0]}
    with tenant_scope(big):
        rows = Memory.objects.filter(archived=False)
        for memory_text, query in facts:
            vector = provider.embed([query])[0].tolist()
            keyword = [m.content for m in keyword_candidates(rows, query, vector, 5)]
            with transaction.atomic(), connection.cursor() as cursor:  # the same HNSW settings as search()
                cursor.execute(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}")
                cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                by_vector = list(
                    rows.annotate(d=CosineDistance("embedding", vector))
                    .order_by("d")
                    .values_list("content", flat=True)[:5]
                )
            fused = [h.row.content for h in search(rows, query, limit=5)]
            for name, ranked in (("keyword", keyword), ("vector", by_vector), ("fused", fused)):
                hits[name][0] += bool(ranked) and ranked[0] == memory_text
                hits[name][1] += memory_text in ranked
    n = len(facts)
    print(f"\nretrieval quality on {n} labelled paraphrased queries (hit@1 / hit@5):")
    for name, (at1, at5) in hits.items():
        print(f"  {name:<8} {at1 / n:.3f} / {at5 / n:.3f}")
    leaked = Memory.unscoped.filter(organization=other).count()
    print(f"\n(other organization's {leaked} look-alike rows never returned: searches run inside the tenant scope)")
    # The bench's rows stay in the orchestra_bench database; drop it to reclaim the space.


if __name__ == "__main__":
    main()
