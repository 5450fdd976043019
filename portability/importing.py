"""Reading an export into an organization (docs/decisions/0019).

Three passes over the file, and nothing written before the third:

1. its shape, without parsing anything: no line longer than PORTABILITY_MAX_LINE_BYTES
   and no more than PORTABILITY_MAX_LINES lines (a 100 MiB line or a million lines is
   refused in the time it takes to read them once, a few megabytes at a time);
2. every line parsed with a depth bound and checked as its tool checks its arguments
   (records.checked), every reference checked to name a row of the file of the right
   kind: a bad line is reported with its number, up to MAX_PROBLEMS of them;
3. inside one transaction and the target organization's tenant scope: the id map read,
   the plan checked, the rows written through the tenant managers with new ids, the
   usage counters taken last. A failure rolls everything back; a dry run always does.

Every row gets a new id, recorded in ImportedRow (target organization, source id):
importing the same file again finds every row already there and writes nothing. The
file's ids only ever name rows of the file, so no line can reach a row of another
organization, whatever ids it holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat

from accounts.models import Organization
from billing import usage
from billing.plans import Resource
from billing.selectors import plan_for_id
from billing.services import usage_consume
from memory.embedding_jobs import schedule_embedding
from memory.models import EmbeddingStatus, Memory, text_hash
from memory.services import content_bytes, content_hash, normalised_key
from orchestra import bounded_json
from orchestra.actor import Actor
from orchestra.db import advisory_xact_lock
from orchestra.errors import ToolError
from orchestra.ids import unique_slug
from orchestra.tenancy import tenant_scope
from portability.audit import portability_recorded
from portability.exporting import current_embedding_model
from portability.models import ImportedRow
from portability.records import (
    FORMAT,
    FORMAT_VERSION,
    KIND_BY_NAME,
    MAX_LINE_DEPTH,
    Kind,
    LineError,
    checked,
    model_field,
)
from tools.decisions.models import Decision, alternatives_text, decision_text

MAX_PROBLEMS = 20
READ_CHUNK = 1024 * 1024
BATCH = 500
# (phase, lines done, lines in all)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Problem:
    line: int  # 0: the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class ImportRefused(Exception):
    """The file was not imported; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:3]))
        self.problems = problems


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # rows an earlier import of the file made (or an equal memory)
    reembed: int = 0  # embedded rows queued for embedding with our model
    lines: int = 0
    dry_run: bool = False
    header: dict[str, Any] = field(default_factory=dict)


# --- pass 1: the shape -----------------------------------------------------------------


def check_shape(stream: BinaryIO) -> int:
    """The number of lines, or ImportRefused for a line or a file over the bounds.
    Reads the file a chunk at a time and parses nothing."""
    max_line, max_lines = settings.PORTABILITY_MAX_LINE_BYTES, settings.PORTABILITY_MAX_LINES
    stream.seek(0)
    lines, current = 0, 0
    while chunk := stream.read(READ_CHUNK):
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            current += end - start
            if current > max_line:
                raise ImportRefused([Problem(lines + 1, f"longer than {max_line} bytes: not read")])
            lines, current, start = lines + 1, 0, end + 1
            if lines > max_lines:
                raise ImportRefused([Problem(0, f"the file has more than {max_lines} lines: not read")])
        current += len(chunk) - start
        if current > max_line:
            raise ImportRefused([Problem(lines + 1, f"longer than {max_line} bytes: not read")])
    if current:
        lines += 1
    if lines > max_lines:
        raise ImportRefused([Problem(0, f"the file has more than {max_lines} lines: not read")])
    if lines == 0:
        raise ImportRefused([Problem(0, "the file is empty")])
    return lines


def _lines(stream: BinaryIO) -> Any:
    """(number, raw line) of every line after the header; check_shape bounded them."""
    stream.seek(0)
    stream.readline(settings.PORTABILITY_MAX_LINE_BYTES + 1)
    for number, raw in enumerate(iter(lambda: stream.readline(settings.PORTABILITY_MAX_LINE_BYTES + 1), b""), 2):
        if raw.strip():
            yield number, raw


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        value = bounded_json.loads(raw, max_depth=MAX_LINE_DEPTH)
    except bounded_json.JsonTooDeep:
        raise LineError(f"JSON nested deeper than {MAX_LINE_DEPTH} levels") from None
    except ValueError:
        raise LineError("not valid JSON") from None
    if not isinstance(value, dict):
        raise LineError("a line is a JSON object")
    return value


def read_header(stream: BinaryIO) -> dict[str, Any]:
    stream.seek(0)
    try:
        header = _parse(stream.readline(settings.PORTABILITY_MAX_LINE_BYTES + 1))
    except LineError as exc:
        raise ImportRefused([Problem(1, f"the header: {exc}")]) from None
    if header.get("format") != FORMAT:
        raise ImportRefused([Problem(1, f"not an Orchestra export (the header's format is not {FORMAT!r})")])
    if header.get("version") != FORMAT_VERSION:
        raise ImportRefused(
            [Problem(1, f"format version {header.get('version')!r}: this server reads {FORMAT_VERSION}")]
        )
    return header


# --- pass 2: every line ----------------------------------------------------------------


@dataclass
class _Checked:
    kinds: dict[uuid.UUID, str] = field(default_factory=dict)  # source id -> kind
    needs: dict[uuid.UUID, tuple[Resource, int]] = field(default_factory=dict)  # what a row counts against the plan


def _usage_of(kind: Kind, row: dict[str, Any]) -> tuple[Resource, int] | None:
    """What a new row of the kind takes from the plan (as its tool's service would)."""
    if kind.name == "project" and row["status"] == "active":
        return Resource.PROJECTS, 1
    if kind.name == "agent" and row["deleted_at"] is None:
        return Resource.AGENTS, 1
    if kind.name == "task" and row["deleted_at"] is None:
        return Resource.TASKS, 1
    if kind.name == "memory":
        return Resource.MEMORY_BYTES, content_bytes(row["content"])
    return None


def check_lines(stream: BinaryIO, *, total: int, declared: Any = None, progress: Progress | None = None) -> _Checked:
    """Every line checked; ImportRefused listing the bad ones (at most MAX_PROBLEMS).
    `declared` is the header's counts by kind: a file that holds other counts (a
    download cut short) is refused."""
    seen = _Checked()
    problems: list[Problem] = []
    later: list[tuple[int, str, uuid.UUID, str]] = []  # same-kind references, checked at the end
    superseded: set[uuid.UUID] = set()
    for number, raw in _lines(stream):
        try:
            line = _parse(raw)
            kind = KIND_BY_NAME.get(line.get("kind"))  # type: ignore[arg-type]
            if kind is None:
                raise LineError(f"unknown kind {str(line.get('kind'))[:40]!r}")
            row = checked(kind, line)
            if row["id"] in seen.kinds:
                raise LineError(f"id {row['id']} appears on an earlier line")
            for ref, target in kind.refs.items():
                if row[ref] is not None and seen.kinds.get(row[ref]) != target:
                    raise LineError(f"{ref} {row[ref]} is not a {target} of this file (defined on an earlier line)")
            for ref in kind.self_refs:
                if row[ref] is not None:
                    later.append((number, ref, row[ref], kind.name))
            if kind.name == "decision" and row["supersedes"] is not None:
                if row["supersedes"] in superseded:
                    raise LineError(f"supersedes {row['supersedes']}, which another decision supersedes")
                superseded.add(row["supersedes"])
            seen.kinds[row["id"]] = kind.name
            need = _usage_of(kind, row)
            if need is not None:
                seen.needs[row["id"]] = need
        except LineError as exc:
            problems.append(Problem(number, str(exc)))
            if len(problems) >= MAX_PROBLEMS:
                break
        if progress is not None and number % 1000 == 0:
            progress("checked", number, total)
    for at, ref, named, kind_name in later:
        if len(problems) >= MAX_PROBLEMS:
            break
        if seen.kinds.get(named) != kind_name:
            problems.append(Problem(at, f"{ref} {named} is not a {kind_name} of this file"))
    if not problems and isinstance(declared, dict) and declared:
        held: dict[str, int] = {}
        for kind_name in seen.kinds.values():
            held[kind_name] = held.get(kind_name, 0) + 1
        if any(declared.get(name, 0) != held.get(name, 0) for name in {*declared, *held}):
            expected, found = sum(v for v in declared.values() if isinstance(v, int)), sum(held.values())
            message = f"the header counts {expected} rows by kind, the file holds {found}: is the file complete?"
            problems.append(Problem(1, message))
    if problems:
        raise ImportRefused(sorted(problems, key=lambda p: p.line))
    if progress is not None:
        progress("checked", total, total)
    return seen


# --- pass 3: the writes ----------------------------------------------------------------


class _DryRun(Exception):
    pass


class _Writer:
    """Writes checked rows of the organization in scope, a batch of one kind at a time."""

    def __init__(self, organization: Organization, report: ImportReport) -> None:
        self.organization = organization
        self.report = report
        self.ids: dict[uuid.UUID, uuid.UUID] = {}  # source id -> id here
        self.done: set[uuid.UUID] = set()  # source ids already here (an earlier import)
        self.batch: list[tuple[uuid.UUID, models.Model]] = []
        self.batch_kind: Kind | None = None
        self.self_refs: list[tuple[Kind, uuid.UUID, str, uuid.UUID]] = []
        self.discussion: list[tuple[uuid.UUID, str]] = []  # (decision here, comment text)
        self.embed: dict[str, list[uuid.UUID]] = {}
        self.slugs: dict[str, set[str]] = {}
        self.memory_keys: dict[tuple[Any, ...], uuid.UUID] = {}
        self.had_memories = Memory.objects.exists()
        self.our_model = current_embedding_model()

    def load_map(self, kinds: dict[uuid.UUID, str]) -> list[Problem]:
        """The rows an earlier import of this file made (still here): kept, not written again."""
        problems: list[Problem] = []
        sources = list(kinds)
        stale: list[int] = []
        for start in range(0, len(sources), 1000):
            found = ImportedRow.objects.filter(
                organization=self.organization, source_id__in=sources[start : start + 1000]
            ).values_list("pk", "kind", "source_id", "target_id")
            by_kind: dict[str, dict[uuid.UUID, tuple[int, uuid.UUID]]] = {}
            for pk, kind_name, source, target in found:
                if kinds[source] != kind_name:
                    problems.append(
                        Problem(0, f"id {source} was imported before as a {kind_name}, not a {kinds[source]}")
                    )
                    continue
                by_kind.setdefault(kind_name, {})[target] = (pk, source)
            for kind_name, targets in by_kind.items():
                model: Any = KIND_BY_NAME[kind_name].model
                present = set(model.objects.filter(pk__in=list(targets)).values_list("pk", flat=True))
                for target, (pk, source) in targets.items():
                    if target in present:
                        self.ids[source] = target
                        self.done.add(source)
                    else:
                        stale.append(pk)  # deleted since: imported again
        ImportedRow.objects.filter(pk__in=stale).delete()
        return problems

    def add(self, kind: Kind, row: dict[str, Any]) -> None:
        source = row["id"]
        if source in self.done:
            self.report.skipped += 1
            return
        if self.batch_kind is not kind or len(self.batch) >= BATCH:
            self.flush()
            self.batch_kind = kind
        fields = {name: row[name] for name in kind.fields}
        for ref in kind.refs:
            fields[model_field(kind, ref).attname] = None if row[ref] is None else self.ids[row[ref]]
        prepared = self._prepared(kind, row, fields)
        if prepared is None:
            return
        for ref in kind.self_refs:
            if row[ref] is not None:
                self.self_refs.append((kind, source, ref, row[ref]))
        new_id = prepared.pop("id", None) or uuid.uuid4()
        self.ids[source] = new_id
        instance = kind.model(id=new_id, organization_id=self.organization.pk, **prepared)
        self.batch.append((source, instance))
        self.report.created[kind.name] = self.report.created.get(kind.name, 0) + 1

    def _prepared(self, kind: Kind, row: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any] | None:
        """Fields a kind derives or must keep unique here; None when the row is already
        here as an equal memory (it is mapped to that one)."""
        if kind.slug_live is not None and (kind.name != "agent" or row["deleted_at"] is None):
            fields["slug"] = self._free_slug(kind, row["slug"])
        if kind.name == "memory":
            digest = content_hash(row["content"])
            key = (row["scope"], fields["agent_id"], fields["project_id"], fields["session_id"], digest)
            existing = self.memory_keys.get(key)
            if existing is None and self.had_memories:
                existing = (
                    Memory.objects.filter(
                        scope=key[0], agent_id=key[1], project_id=key[2], session_id=key[3], content_hash=digest
                    )
                    .values_list("pk", flat=True)
                    .first()
                )
            if existing is not None:
                self.ids[row["id"]] = existing
                self._remember(kind, row["id"], existing)
                self.report.skipped += 1
                return None
            fields.update(content_hash=digest, content_key=normalised_key(row["content"]))
            self.memory_keys[key] = fields["id"] = uuid.uuid4()
        if kind.name == "decision":
            fields["content_hash"] = text_hash(
                decision_text(
                    title=row["title"], decision=row["decision"], rationale=row["rationale"], context=row["context"]
                )
            )
            fields["searchable_extra"] = alternatives_text(row["alternatives"])
        if kind.name == "decision_comment":
            self.discussion.append((fields["decision_id"], row["text"]))
        if kind.name == "note":
            fields["links"] = [self._relinked(link) for link in row["links"]]
        if kind.name == "activity" and row["target_id"] is not None:
            fields["target_id"] = self.ids.get(row["target_id"], row["target_id"])
        if kind.embedded:
            if row["embedding"] is not None and row["embedding_model"] == self.our_model:
                fields.update(embedding=row["embedding"], embedding_model=self.our_model)
                fields["embedding_status"] = EmbeddingStatus.READY
            else:
                fields["embedding_status"] = EmbeddingStatus.PENDING
        return fields

    def _relinked(self, link: Any) -> Any:
        """A note's row link names the row's id here when the row came with the file."""
        if isinstance(link, dict):
            try:
                source = uuid.UUID(link["id"])
            except ValueError:
                return link
            if source in self.ids:
                return {**link, "id": str(self.ids[source])}
        return link

    def _free_slug(self, kind: Kind, slug: str) -> str:
        taken = self.slugs.get(kind.name)
        if taken is None:
            model: Any = kind.model
            rows = model.unscoped.filter(organization_id=self.organization.pk, **(kind.slug_live or {}))
            taken = self.slugs[kind.name] = set(rows.values_list("slug", flat=True))
        free = slug if slug not in taken else unique_slug(slug, taken.__contains__)
        taken.add(free)
        return free

    def _remember(self, kind: Kind, source: uuid.UUID, target: uuid.UUID) -> None:
        ImportedRow.objects.create(organization=self.organization, kind=kind.name, source_id=source, target_id=target)

    def flush(self) -> None:
        kind, batch = self.batch_kind, self.batch
        if kind is None or not batch:
            return
        model: Any = kind.model
        instances: list[Any] = [instance for _, instance in batch]
        # Times as the file says: bulk_create stamps updated_at (auto_now), bulk_update does not.
        updated = [getattr(instance, "updated_at", None) for instance in instances]
        model.objects.bulk_create(instances)
        if "updated_at" in kind.fields:
            self._set_column(kind, "updated_at", [(i.pk, at) for i, at in zip(instances, updated, strict=True)])
        ImportedRow.objects.bulk_create(
            ImportedRow(organization=self.organization, kind=kind.name, source_id=source, target_id=instance.pk)
            for source, instance in batch
        )
        if kind.embedded:
            pending = [i.pk for i in instances if i.embedding_status == EmbeddingStatus.PENDING]
            self.embed.setdefault(model._meta.label, []).extend(pending)
        self.batch = []

    def _set_column(self, kind: Kind, column: str, values: list[tuple[uuid.UUID, Any]]) -> None:
        """Set `column` of rows this import wrote, one statement per BATCH rows. Django's
        bulk_update builds a CASE of one branch per row (seconds per thousand rows);
        this joins the ids to their values instead. Only rows of the organization are
        touched, whatever the ids."""
        field = model_field(kind, column)
        sql_type = field.db_type(connection)
        table = connection.ops.quote_name(kind.model._meta.db_table)
        name = connection.ops.quote_name(field.column or column)
        sql = (
            f"UPDATE {table} AS t SET {name} = v.value "  # noqa: S608 (names from the model registry)
            f"FROM unnest(%s::uuid[], %s::{sql_type}[]) AS v(id, value) "
            "WHERE t.id = v.id AND t.organization_id = %s"
        )
        with connection.cursor() as cursor:
            for start in range(0, len(values), BATCH):
                chunk = values[start : start + BATCH]
                cursor.execute(sql, [[pk for pk, _ in chunk], [value for _, value in chunk], self.organization.pk])

    def finish(self) -> None:
        """Same-kind references (every row of the kind exists now), the decisions'
        searchable discussion, then the usage counters: the last lock taken."""
        self.flush()
        by_field: dict[tuple[str, str], list[tuple[uuid.UUID, uuid.UUID]]] = {}
        for kind, source, ref, target in self.self_refs:
            by_field.setdefault((kind.name, ref), []).append((self.ids[source], self.ids[target]))
        for (kind_name, ref), pairs in by_field.items():
            kind = KIND_BY_NAME[kind_name]
            self._set_column(kind, model_field(kind, ref).attname, pairs)
        for decision_id, text in self.discussion:
            Decision.objects.filter(pk=decision_id).update(
                searchable_extra=Concat(F("searchable_extra"), Value("\n" + text), output_field=TextField())
            )


def _embed_on_commit(ids: list[uuid.UUID], label: str) -> None:
    """Rows without a vector of our model are embedded once the import is committed."""
    transaction.on_commit(lambda: schedule_embedding(ids, label))


def _plan_problems(organization: Organization, needs: dict[Resource, int]) -> list[Problem]:
    """What the rows the import adds would take past the plan (read before any write;
    the counters taken at the end decide)."""
    plan = plan_for_id(organization.pk)
    problems = []
    for resource, amount in needs.items():
        limit = plan.limit(resource)
        used = usage.used(organization.pk, resource)
        if amount and limit is not None and used + amount > limit:
            problems.append(
                Problem(
                    0,
                    f"the {plan.name} plan allows {limit} {resource.value.replace('_', ' ')}; this organization "
                    f"uses {used} and the file would add {amount}: nothing was imported",
                )
            )
    return problems


def organization_import(
    *,
    organization: Organization,
    stream: BinaryIO,
    actor: Actor,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the export in `stream` (a seekable binary file) into `organization`.
    Raises ImportRefused (nothing written) or returns what was (or, in a dry run, would
    be) written."""
    total = check_shape(stream)
    report = ImportReport(lines=total, dry_run=dry_run, header=read_header(stream))
    seen = check_lines(stream, total=total, declared=report.header.get("counts"), progress=progress)
    try:
        with transaction.atomic(), tenant_scope(organization):
            # One import at a time per organization: the id map and the slugs it reads
            # stay true until it commits.
            advisory_xact_lock(f"portability-import:{organization.pk}")
            writer = _Writer(organization, report)
            problems = writer.load_map(seen.kinds)
            needs: dict[Resource, int] = {}
            for source, (resource, amount) in seen.needs.items():
                if source not in writer.done:
                    needs[resource] = needs.get(resource, 0) + amount
            problems += _plan_problems(organization, needs)
            if problems:
                raise ImportRefused(problems)
            for number, raw in _lines(stream):
                line = _parse(raw)
                kind = KIND_BY_NAME[line["kind"]]
                writer.add(kind, checked(kind, line))
                if progress is not None and number % 1000 == 0:
                    progress("written", number, total)
            writer.finish()
            for resource, amount in needs.items():
                usage_consume(organization=organization, resource=resource, amount=amount)
            report.reembed = sum(len(ids) for ids in writer.embed.values())
            if dry_run:
                raise _DryRun
            for label, ids in writer.embed.items():
                _embed_on_commit(ids, label)
            portability_recorded(
                action="import",
                organization=organization,
                actor=actor,
                counts=report.created,
                details={"skipped": report.skipped, "lines": total},
            )
    except _DryRun:
        pass
    except ToolError as exc:  # a plan limit reached meanwhile
        raise ImportRefused([Problem(0, f"{exc}: nothing was imported")]) from None
    except DatabaseError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportRefused([Problem(0, f"the rows could not be written ({first}): nothing was imported")]) from None
    if progress is not None:
        progress("written", total, total)
    return report


def import_path(*, organization: Organization, path: Path, actor: Actor, dry_run: bool = False,
                progress: Progress | None = None) -> ImportReport:  # fmt: skip
    with path.open("rb") as stream:
        return organization_import(
            organization=organization, stream=stream, actor=actor, dry_run=dry_run, progress=progress
        )
