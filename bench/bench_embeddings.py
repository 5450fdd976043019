"""Embedding benchmark (not a test): the local all-MiniLM-L6-v2 int8 model.

Prints batched throughput (entries/s) on varied, realistic memory-like text and the
latency of one short query. Goal (issue 4): at least 300 entries/s per worker.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra.settings")

from memory.embeddings.local import LocalMiniLM

SUBJECTS = [
    "the deploy pipeline",
    "the billing webhook",
    "our Postgres migration",
    "the auth middleware",
    "the Celery worker",
    "the search index",
    "the onboarding flow",
    "the rate limiter",
]
EVENTS = [
    "failed on staging because",
    "got 30% faster after",
    "needs a follow-up since",
    "was rolled back when",
    "is blocked until",
    "was redesigned so that",
]
CAUSES = [
    "a missing index on created_at",
    "the retry backoff was too short",
    "two workers raced on the same row",
    "the token cache outlived a revocation",
    "the HNSW ef_search was too low",
    "the proxy buffered SSE",
]


def sentences(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(EVENTS)} {rng.choice(CAUSES)}." for _ in range(count)]


def main() -> None:
    model = LocalMiniLM()
    texts = sentences(2000)
    model.embed(texts[:64])  # warm up
    started = time.perf_counter()
    model.embed(texts)
    rate = len(texts) / (time.perf_counter() - started)
    singles = []
    for text in texts[:200]:
        t = time.perf_counter()
        model.embed([text])
        singles.append((time.perf_counter() - t) * 1000)
    singles.sort()
    print(
        f"local embeddings: {rate:.0f} entries/s batched (goal >= 300); one query: "
        f"p50 {statistics.median(singles):.2f} ms, p95 {singles[int(len(singles) * 0.95)]:.2f} ms"
    )


if __name__ == "__main__":
    main()
