"""Writes for memories: one transaction and one audit row each; embeddings after commit."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Func, IntegerField, Q, QuerySet, Value, When

from billing.plans import Resource
from billing.services import usage_consume, usage_release
from memory.embedding_jobs import schedule_embedding
from memory.models import DEFAULT_IMPORTANCE, MAX_CONTENT_BYTES, OWNER_FIELD, Memory, Scope
from orchestra.actor import Actor
from orchestra.errors import Conflict, InvalidArguments
from orchestra.tenancy import current_organization_id
from tools.activity.services import activity_record

MAX_TAGS = 20


def content_hash(content: str) -> str:
    return hashlib.sha256(content.strip().encode()).hexdigest()


def normalised_key(content: str) -> str:
    """SHA-256 of the content as a reader compares it: Unicode compatibility form
    (NFKC), case folded, every run of whitespace one space. "Use  Redis" and "use
    redis" are the same memory."""
    text = " ".join(unicodedata.normalize("NFKC", content).casefold().split())
    return hashlib.sha256(text.encode()).hexdigest()


def check_scope(scope: str, *, agent: Any, project: Any, session: Any) -> None:
    """A scope names its owner: agent scope needs an agent, and so on."""
    field = OWNER_FIELD.get(scope)
    if field is not None and {"agent": agent, "project": project, "session": session}[field] is None:
        raise InvalidArguments(f"scope {scope} needs {field}")


# No savepoint of its own: inside a tool call's transaction a failure rolls back the
# whole call anyway (the one savepoint below is the one something rolls back to).
@transaction.atomic(savepoint=False)
def memory_store(
    *,
    actor: Actor,
    content: str,
    scope: str,
    agent: Any = None,
    project: Any = None,
    session: Any = None,
    tags: list[str] | None = None,
    importance: int = DEFAULT_IMPORTANCE,
    metadata: dict[str, Any] | None = None,
    keep_both: bool = False,
    supersedes: Memory | None = None,
) -> tuple[Memory, bool]:
    """Store a memory, or return the existing one of the scope with the same content
    (created is False): identical, or equal once normalised (normalised_key) unless
    `keep_both`. `keep_both` also keeps the embedding task from merging it into a
    memory that says the same in other words (memory.tasks). With `supersedes`, a new
    memory replaces that one: it is marked superseded and ranked lower by search."""
    content = content.strip()
    if not content:
        raise InvalidArguments("content must not be empty")
    if len(content.encode()) > MAX_CONTENT_BYTES:
        raise InvalidArguments(f"content must be at most {MAX_CONTENT_BYTES // 1024} KiB")
    check_scope(scope, agent=agent, project=project, session=session)
    tags = sorted({t.strip().lower() for t in (tags or []) if t.strip()})
    if len(tags) > MAX_TAGS:
        raise InvalidArguments(f"at most {MAX_TAGS} tags")
    # A memory belongs to exactly the owner its scope names.
    owner = {
        "scope": scope,
        "agent": agent if scope == Scope.AGENT else None,
        "project": project if scope == Scope.PROJECT else None,
        "session": session if scope == Scope.SESSION else None,
    }
    digest, key = content_hash(content), normalised_key(content)
    # One query: the identical memory, else (unless keep_both) the oldest look-alike,
    # the one any later look-alike was merged into.
    same = Q(content_hash=digest) if keep_both else Q(content_hash=digest) | Q(content_key=key)
    identical_first = Case(When(content_hash=digest, then=Value(0)), default=Value(1))
    existing = Memory.objects.filter(same, **owner).order_by(identical_first, "created_at").first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin may win the race
            memory = Memory.objects.create(
                organization_id=current_organization_id(),
                content=content,
                content_hash=digest,
                content_key=key,
                keep_separate=keep_both,
                supersedes=supersedes,
                tags=tags,
                importance=importance,
                metadata=metadata or {},
                author_id=actor.user_id,
                **owner,
            )
    except IntegrityError:
        return Memory.objects.get(content_hash=digest, **owner), False
    if supersedes is not None:
        # The newest replacement wins (the UPDATE's row lock orders two at once).
        Memory.objects.filter(pk=supersedes.pk).update(superseded_by=memory)
    activity_record(
        actor=actor,
        type="memory.stored",
        target=memory,
        project_id=memory.project_id,
        session_id=memory.session_id,
        description=content[:120],
        metadata={"supersedes": str(supersedes.pk)} if supersedes is not None else None,
    )
    # The plan counts the bytes of stored content (the counter is the last lock).
    usage_consume(organization=memory.organization_id, resource=Resource.MEMORY_BYTES, amount=content_bytes(content))
    transaction.on_commit(lambda: schedule_embedding([memory.pk]))
    return memory, True


def content_bytes(content: str) -> int:
    """What a memory's content counts against the plan: its UTF-8 bytes (PostgreSQL's
    octet_length, which billing.recount sums)."""
    return len(content.encode())


class OctetLength(Func):
    function = "octet_length"
    output_field = IntegerField()


def memories_delete(rows: QuerySet[Memory]) -> int:
    """Delete `rows` and give their bytes back to the plan; returns how many memories
    went. The rows are locked first, so a memory deleted by two calls at once is
    given back once (lock order: the rows, then the counter)."""
    locked = list(rows.select_for_update().annotate(size=OctetLength(F("content"))).values_list("pk", "size"))
    if not locked:
        return 0
    _, per_model = Memory.objects.filter(pk__in=[pk for pk, _ in locked]).delete()
    usage_release(
        organization=current_organization_id(), resource=Resource.MEMORY_BYTES, amount=sum(size for _, size in locked)
    )
    return per_model.get(Memory._meta.label, 0)


@transaction.atomic
def memory_delete(*, actor: Actor, memory: Memory) -> None:
    activity_record(actor=actor, type="memory.deleted", target=memory, project_id=memory.project_id)
    memories_delete(Memory.objects.filter(pk=memory.pk))


@transaction.atomic
def memory_clear(*, actor: Actor, scope: str, agent: Any = None, project: Any = None, session: Any = None) -> int:
    """Delete every entry of exactly one scope, named explicitly."""
    check_scope(scope, agent=agent, project=project, session=session)
    if scope == Scope.ORGANIZATION:
        raise InvalidArguments("clear_memory clears an agent, project or session scope, not the whole organization")
    field = OWNER_FIELD[scope]
    rows = Memory.objects.filter(
        scope=scope, **{field: {"agent": agent, "project": project, "session": session}[field]}
    )
    count = memories_delete(rows)
    activity_record(
        actor=actor,
        type="memory.cleared",
        project_id=getattr(project, "pk", None),
        metadata={"scope": scope, "deleted": count},
    )
    return count


@transaction.atomic
def memory_supersede(*, actor: Actor, memory: Memory, by: Memory) -> Memory:
    """Mark `memory` superseded by `by`, a memory already stored (store_memory's
    `supersedes` does the same for a new one): search ranks it lower from now on.
    `by` must be live (not itself superseded), which also keeps chains free of cycles;
    marking a superseded memory again points it at the newer replacement."""
    if memory.pk == by.pk:
        raise InvalidArguments("a memory cannot supersede itself")
    # Both rows locked, in id order, so two marks at once never wait on each other.
    locked = {m.pk: m for m in Memory.objects.select_for_update().filter(pk__in=[memory.pk, by.pk]).order_by("pk")}
    memory, by = locked[memory.pk], locked[by.pk]
    if by.superseded_by_id is not None:
        raise Conflict(
            f"memory {by.pk} is itself superseded by {by.superseded_by_id}: mark it superseded by the newer one"
        )
    if memory.superseded_by_id == by.pk:
        return memory
    previous = memory.superseded_by_id
    memory.superseded_by = by
    memory.save(update_fields=["superseded_by", "updated_at"])
    if by.supersedes_id is None:
        by.supersedes = memory
        by.save(update_fields=["supersedes", "updated_at"])
    activity_record(
        actor=actor,
        type="memory.superseded",
        target=memory,
        project_id=memory.project_id,
        session_id=memory.session_id,
        description=memory.content[:120],
        metadata={"by": str(by.pk), **({"previously_by": str(previous)} if previous is not None else {})},
    )
    return memory
