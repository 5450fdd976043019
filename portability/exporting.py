"""Writing an organization, or one of its projects, as JSON Lines.

The first line is the header (format, version, source, counts, embedding model); then
one line per row, kind by kind in `records.KINDS` order, each kind oldest first. Rows
are read in chunks from a server-side cursor inside one read-only REPEATABLE READ
transaction: the counts of the header and the lines agree, and memory stays flat
whatever the organization's size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Organization
from memory.models import EmbeddingStatus
from orchestra.tenancy import project_scope, tenant_scope
from portability.records import FORMAT, FORMAT_VERSION, KIND_BY_NAME, KINDS, Kind, columns, line_of, model_field

CHUNK = 500
# (kind, rows written of it, rows of it in all): called every CHUNK rows and at each kind's end.
Progress = Callable[[str, int, int], None]


def current_embedding_model() -> str:
    """The model this server embeds with, without loading it."""
    if settings.EMBEDDING_PROVIDER == "openai":
        return str(settings.EMBEDDING_MODEL)
    from memory.embeddings.local import LocalMiniLM

    return LocalMiniLM.model_id


def _rows(kind: Kind, *, in_project: bool) -> QuerySet[Any]:
    """The kind's rows in scope. In a project's export a reference to a row outside it
    (an agent of another project assigned a task) reads as None: the file names only
    rows it holds."""
    rows: QuerySet[Any] = kind.model.objects.all()  # type: ignore[attr-defined]
    if in_project:
        for ref in (*kind.refs, *kind.self_refs):
            target = KIND_BY_NAME[kind.refs.get(ref, kind.name)].model
            column = model_field(kind, ref).attname
            readable = target.objects.filter(pk=OuterRef(column)).values("pk")[:1]  # type: ignore[attr-defined]
            rows = rows.annotate(**{f"_in_{ref}": Subquery(readable)})
    return rows.order_by("created_at", "id")


def export_write(
    out: BinaryIO,
    *,
    organization: Organization,
    project_id: Any = None,
    with_vectors: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the export to `out`; returns the rows written by kind. `project_id` must
    be a project of the organization (the caller resolved it in scope)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic(), tenant_scope(organization), project_scope(project_id):
        if outermost:  # (inside a caller's transaction, that transaction's snapshot rules)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        in_project = project_id is not None
        counts = {kind.name: _rows(kind, in_project=in_project).count() for kind in KINDS}
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "source": {
                "app_url": settings.APP_URL,
                "organization": organization.slug,
                "project": None if project_id is None else str(project_id),
                "exported_at": timezone.now().isoformat(),
            },
            "counts": counts,
            "embedding_model": current_embedding_model(),
            "with_vectors": with_vectors,
        }
        out.write(orjson.dumps(header) + b"\n")
        for kind in KINDS:
            _write_kind(
                out, kind, in_project=in_project, with_vectors=with_vectors, total=counts[kind.name], progress=progress
            )
    return counts


def _write_kind(
    out: BinaryIO, kind: Kind, *, in_project: bool, with_vectors: bool, total: int, progress: Progress | None
) -> None:
    wanted = columns(kind)
    if in_project:
        wanted += [f"_in_{ref}" for ref in (*kind.refs, *kind.self_refs)]
    if kind.embedded:
        wanted += ["embedding_model", "embedding_status"] + (["embedding"] if with_vectors else [])
    done = 0
    for row in _rows(kind, in_project=in_project).values(*wanted).iterator(chunk_size=CHUNK):
        if in_project:
            for ref in (*kind.refs, *kind.self_refs):
                row[model_field(kind, ref).attname] = row.pop(f"_in_{ref}")
        line = line_of(kind, row)
        if kind.embedded:
            ready = row["embedding_status"] == EmbeddingStatus.READY
            line["embedding_model"] = row["embedding_model"] if ready else ""
            if with_vectors and ready and row["embedding"] is not None:
                line["embedding"] = [float(x) for x in row["embedding"]]
        out.write(orjson.dumps(line) + b"\n")
        done += 1
        if progress is not None and done % CHUNK == 0:
            progress(kind.name, done, total)
    if progress is not None:
        progress(kind.name, done, total)
