"""The six memory tools."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from memory import services
from memory.models import DEFAULT_IMPORTANCE, EmbeddingStatus, Memory
from memory.search import scope_filter, search
from orchestra.errors import not_found
from orchestra.ids import id_or_none, parse_uuid
from orchestra.pagination import paginate
from tools.agents.selectors import agent_get
from tools.mcp.answers import Instant, present
from tools.mcp.args import DEFAULT_PAGE, AgentRef, Cursor, Limit, ProjectRef, SessionRef, Since, Tags, Until
from tools.mcp.registry import ToolContext, tool
from tools.projects.selectors import project_get, project_or_default
from tools.worksessions.selectors import work_session_get

# The same words in every search tool's output schema (search_decisions too).
SCORE_HELP = (
    "Relevance 0-1, comparable across queries: about 0.7+ a strong match, under 0.3 weak "
    "(docs/decisions/0017-ranking.md)."
)
MinScore = Annotated[float, Field(ge=0, le=1, description="Leave out results scoring below this (0-1).")]

ScopeName = Literal["agent", "project", "session", "organization"]
MemoryRef = Annotated[str, Field(min_length=1, max_length=64, description="Memory id.")]
# How much of a memory list_memories shows (search and get_memory show all of it).
LIST_CONTENT_CHARS = 500


class MemoryOut(TypedDict):
    """A memory in full; empty fields are left out (tools.mcp.answers)."""

    id: str
    scope: str
    agent_id: NotRequired[str]
    project_id: NotRequired[str]
    session_id: NotRequired[str]
    content: str
    tags: NotRequired[list[str]]
    importance: NotRequired[Annotated[int, Field(description=f"1-10; absent: {DEFAULT_IMPORTANCE}, the default.")]]
    metadata: NotRequired[dict[str, Any]]
    embedding_status: NotRequired[
        Annotated[str, Field(description="pending or failed while it has no embedding; absent once ready.")]
    ]
    archived: NotRequired[bool]
    created_at: Instant
    # Only on a memory merged into an older one that says the same (then archived).
    duplicate_of: NotRequired[Annotated[str, Field(description="The memory this one was merged into.")]]
    supersedes: NotRequired[Annotated[str, Field(description="The memory this one replaced.")]]
    superseded_by: NotRequired[Annotated[str, Field(description="The newer memory that replaced this one.")]]


class MemoryRow(MemoryOut):
    """A memory in a list: its content is cut at LIST_CONTENT_CHARS (get_memory has it all)."""

    truncated: NotRequired[Annotated[bool, Field(description="content was cut: get_memory has all of it.")]]


class StoreOut(TypedDict):
    memory: MemoryOut
    duplicate: bool


class SearchHit(MemoryOut):
    score: Annotated[float, Field(description=SCORE_HELP)]
    similarity: NotRequired[Annotated[float, Field(description="Cosine similarity; absent while pending.")]]
    matched: Annotated[list[str], Field(description="Which halves found it: vector, keyword.")]
    pending: NotRequired[Annotated[bool, Field(description="No embedding yet: found by its words alone.")]]


class SearchOut(TypedDict):
    items: list[SearchHit]


class MemoryList(TypedDict):
    items: list[MemoryRow]
    next_cursor: str | None


class Cleared(TypedDict):
    deleted: int


def _memory_fields(memory: Memory) -> dict[str, Any]:
    return {
        "id": str(memory.pk),
        "scope": memory.scope,
        "agent_id": id_or_none(memory.agent_id),
        "project_id": id_or_none(memory.project_id),
        "session_id": id_or_none(memory.session_id),
        "content": memory.content,
        "tags": memory.tags,
        "importance": None if memory.importance == DEFAULT_IMPORTANCE else memory.importance,
        "metadata": memory.metadata,
        "embedding_status": None if memory.embedding_status == EmbeddingStatus.READY else memory.embedding_status,
        "archived": memory.archived,
        "created_at": memory.created_at,
        "duplicate_of": id_or_none(memory.duplicate_of_id),
        "supersedes": id_or_none(memory.supersedes_id),
        "superseded_by": id_or_none(memory.superseded_by_id),
    }


def memory_out(memory: Memory) -> MemoryOut:
    return present(MemoryOut, **_memory_fields(memory))


def memory_row(memory: Memory) -> MemoryRow:
    fields = _memory_fields(memory)
    content = memory.content
    if len(content) > LIST_CONTENT_CHARS:
        fields["content"] = content[: LIST_CONTENT_CHARS - 1] + "…"
        fields["truncated"] = True
    return present(MemoryRow, **fields)


def _owners(ctx: ToolContext, agent: str | None, project: str | None, session: str | None) -> dict[str, Any]:
    return {
        "agent": agent_get(agent) if agent else None,
        "project": project_get(project) if project else None,
        "session": work_session_get(session) if session else None,
    }


def _memory(ref: str, *, argument: str = "memory") -> Memory:
    uid = parse_uuid(ref)
    memory = Memory.objects.filter(pk=uid).first() if uid is not None else None
    if memory is None:
        raise not_found(argument, ref)
    return memory


@tool(category="memory", read_only=False, creates=True)
def store_memory(
    ctx: ToolContext,
    content: Annotated[str, Field(min_length=1, max_length=65536, description="What to remember (64 KiB max).")],
    scope: Annotated[
        ScopeName | None,
        Field(description="Owner; agent/session need that argument. Default organization (a project token: project)."),
    ] = None,
    agent: AgentRef | None = None,
    project: ProjectRef | None = None,
    session: SessionRef | None = None,
    tags: Tags | None = None,
    importance: Annotated[int, Field(ge=1, le=10, description="1 (trivia) to 10 (vital).")] = DEFAULT_IMPORTANCE,
    metadata: dict[str, Any] | None = None,
    keep_both: Annotated[
        bool, Field(description="Keep it even if a memory of the scope says the same (no merge).")
    ] = False,
    supersedes: Annotated[
        str | None, Field(max_length=64, description="Memory id this one replaces (ranked lower from now on).")
    ] = None,
) -> StoreOut:
    """Remember something for the team; the scope names its owner. Same content in a scope is kept once."""
    restricted = ctx.identity.project_id is not None
    if scope is None:
        # A project-restricted token's memories belong to its project (organization-wide
        # ones would be out of its own reach).
        scope = "project" if restricted else "organization"
    owners = _owners(ctx, agent, project, session)
    if scope == "project" and owners["project"] is None:
        owners["project"] = project_or_default(None)
    memory, created = services.memory_store(
        actor=ctx.actor,
        content=content,
        scope=scope,
        tags=tags,
        importance=importance,
        metadata=metadata,
        keep_both=keep_both,
        supersedes=_memory(supersedes, argument="supersedes") if supersedes else None,
        **owners,
    )
    return StoreOut(memory=memory_out(memory), duplicate=not created)


@tool(category="memory", read_only=True, idempotent=True)
def search_memory(
    ctx: ToolContext,
    query: Annotated[str, Field(min_length=1, max_length=2000)],
    scope: ScopeName | None = None,
    agent: AgentRef | None = None,
    project: ProjectRef | None = None,
    session: SessionRef | None = None,
    tags: Tags | None = None,
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
    min_similarity: Annotated[float, Field(ge=0, le=1, description="Minimum cosine similarity.")] = 0.0,
    include_archived: Annotated[bool, Field(description="Also archived entries.")] = False,
    min_score: MinScore = 0.0,
) -> SearchOut:
    """Find memories by meaning and by words; up to `limit`, most relevant first, each with a 0-1 score."""
    owners = _owners(ctx, agent, project, session)
    rows = Memory.objects.filter(scope_filter(scope=scope, **owners))
    if not include_archived:
        rows = rows.filter(archived=False)
    if tags:
        rows = rows.filter(tags__contains=sorted({t.lower() for t in tags}))
    hits = search(rows, query, limit=limit, min_similarity=min_similarity, min_score=min_score)
    return SearchOut(
        items=[
            present(
                SearchHit,
                **memory_out(h.row),
                score=round(h.score, 3),
                similarity=None if h.similarity is None else round(h.similarity, 3),
                matched=h.signals,
                pending=h.pending,
            )
            for h in hits
        ]
    )


@tool(category="memory", read_only=True, idempotent=True)
def list_memories(
    ctx: ToolContext,
    scope: ScopeName | None = None,
    agent: AgentRef | None = None,
    project: ProjectRef | None = None,
    session: SessionRef | None = None,
    tags: Tags | None = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> MemoryList:
    """List memories, newest first."""
    owners = _owners(ctx, agent, project, session)
    rows = Memory.objects.filter(archived=False)
    if scope:
        rows = rows.filter(scope=scope)
    for name, value in owners.items():
        if value is not None:
            rows = rows.filter(**{name: value})
    if tags:
        rows = rows.filter(tags__contains=sorted({t.lower() for t in tags}))
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lt=until)
    page = paginate(rows.defer("embedding"), limit=limit, cursor=cursor)
    return MemoryList(items=[memory_row(m) for m in page.items], next_cursor=page.next_cursor)


@tool(category="memory", read_only=True, idempotent=True)
def get_memory(ctx: ToolContext, memory: MemoryRef) -> MemoryOut:
    """One memory with its scope and embedding status."""
    return memory_out(_memory(memory))


@tool(category="memory", read_only=False, destructive=True, idempotent=True)
def delete_memory(ctx: ToolContext, memory: MemoryRef) -> MemoryOut:
    """Delete one memory."""
    row = _memory(memory)
    out = memory_out(row)
    services.memory_delete(actor=ctx.actor, memory=row)
    return out


@tool(category="memory", read_only=False, destructive=True, idempotent=True)
def clear_memory(
    ctx: ToolContext,
    scope: Literal["agent", "project", "session"],
    agent: AgentRef | None = None,
    project: ProjectRef | None = None,
    session: SessionRef | None = None,
) -> Cleared:
    """Delete every memory of one named agent, project or session scope; answers the count."""
    owners = _owners(ctx, agent, project, session)
    return Cleared(deleted=services.memory_clear(actor=ctx.actor, scope=scope, **owners))
