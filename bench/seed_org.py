"""Grow a project by many tasks and memories for bench_tools.py (run inside `manage.py shell`).

Reads BENCH_ORG (slug), BENCH_PROJECT (slug) and BENCH_ROWS from the environment. Rows
are inserted in bulk (the tools would take an hour for 100,000 of each): tasks in
every status, memories whose texts are pairs of this project's docstring sentences and
whose vectors are the normalised sums of those sentences' real embeddings, so the
HNSW index holds a realistic spread rather than random noise. The HNSW index is
dropped for the load and built again afterwards (bench/hnsw.py)."""

from __future__ import annotations

import ast
import os
import random
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
from django.db import connection

from accounts.models import Organization
from memory.embeddings import get_provider
from memory.models import EmbeddingStatus, Memory
from memory.services import content_hash, normalised_key
from orchestra.tenancy import tenant_scope
from tools.projects.models import Project
from tools.tasks.models import Task, TaskPriority, TaskStatus

sys.path.insert(0, str(Path.cwd() / "bench"))  # run by bench_tools.py from the repository's root
from hnsw import build_hnsw, drop_hnsw

BATCH = 2000
organization = Organization.objects.get(slug=os.environ["BENCH_ORG"])
count = int(os.environ["BENCH_ROWS"])
rng = random.Random(11)


def sentences(limit: int) -> list[str]:
    """Distinct docstring sentences of the installed packages (real technical prose)."""
    found: dict[str, None] = {}
    for path in sorted(Path(sysconfig.get_paths()["purelib"]).rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(errors="ignore"))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                text = " ".join((ast.get_docstring(node) or "").split()).split(". ")[0]
                if 40 <= len(text) <= 200 and text[0].isupper() and "\x00" not in text:
                    found.setdefault(text.rstrip(".") + ".", None)
                    if len(found) >= limit:
                        return list(found)
    return list(found)


with tenant_scope(organization):
    project = Project.objects.get(slug=os.environ["BENCH_PROJECT"])
    started = time.monotonic()
    statuses = list(TaskStatus.values)  # every status, each as likely
    priorities = [TaskPriority.HIGH, TaskPriority.MEDIUM, TaskPriority.LOW]
    for first in range(0, count, BATCH):
        Task.objects.bulk_create(
            [
                Task(
                    organization=organization,
                    project=project,
                    title=f"Grown task {n}: {rng.choice(['fix', 'add', 'document', 'remove'])} the thing",
                    status=rng.choice(statuses),
                    priority=rng.choice(priorities),
                    labels=[rng.choice(["backend", "frontend", "infra"])],
                )
                for n in range(first, min(count, first + BATCH))
            ]
        )
    print(f"  {count:,} tasks in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    started = time.monotonic()
    drop_hnsw()
    base = sentences(2000)
    provider = get_provider()
    vectors = np.asarray(provider.embed(base), dtype=np.float32)
    for first in range(0, count, BATCH):
        rows = []
        for _ in range(first, min(count, first + BATCH)):
            a, b = rng.sample(range(len(base)), 2)
            text = f"{base[a]} {base[b]} ({rng.randrange(10**9)})"
            vector = vectors[a] + vectors[b]
            rows.append(
                Memory(
                    organization=organization,
                    scope="project",
                    project=project,
                    content=text,
                    content_hash=content_hash(text),
                    content_key=normalised_key(text),
                    embedding=vector / np.linalg.norm(vector),
                    embedding_model=provider.model_id,
                    embedding_status=EmbeddingStatus.READY,
                )
            )
        Memory.objects.bulk_create(rows)
    print(f"  {count:,} memories in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    build_hnsw(Memory.unscoped.count())  # the whole table's graph, every organization's rows
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")
