"""The memory table's HNSW index for the benches that load many rows at once
(bench_memory.py, seed_org.py): dropped before the load and built again after it, as
the model defines it, since one build is many times faster than as many inserts into
the graph (100,000 inserts outran a request's statement timeout)."""

from __future__ import annotations

import time

from django.db import connection

from memory.models import Memory

HNSW_INDEX = "memory_embedding_hnsw"


def build_hnsw(rows: int) -> None:
    """Build the HNSW index after the load, exactly as the migration defines it (the
    model's index: name, opclass, m, ef_construction), and print how long it took."""
    index = next(i for i in Memory._meta.indexes if i.name == HNSW_INDEX)
    # The graph must fit in maintenance_work_mem or the build slows down by far (about
    # 2.5 kB a row at m=24); one parallel worker besides the leader on this 2-core machine.
    work_mem_mb = max(1024, rows * 4096 // 2**20)
    connection.ensure_connection()
    connection.connection.add_notice_handler(lambda notice: print(f"  notice: {notice.message_primary}", flush=True))
    with connection.cursor() as cursor:
        cursor.execute(f"SET maintenance_work_mem = '{work_mem_mb}MB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        cursor.execute("SET statement_timeout = 0")  # the index build takes longer than a request may
    started = time.perf_counter()
    with connection.schema_editor() as editor:
        editor.add_index(Memory, index)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [HNSW_INDEX])
        definition = cursor.fetchone()[0]
        cursor.execute("ANALYZE memory_memory")
        cursor.execute("RESET maintenance_work_mem")
    print(
        f"HNSW index built in {elapsed:.0f} s ({elapsed / 60:.1f} min; maintenance_work_mem {work_mem_mb} MB, "
        f"1 parallel worker): {definition}",
        flush=True,
    )


def drop_hnsw() -> None:
    """Drop the index for a bulk load (build_hnsw puts it back)."""
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")  # the load and the build take longer than a request may
        cursor.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
