"""The five note tools."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, get_args

from pydantic import Field, WithJsonSchema
from typing_extensions import TypedDict

from orchestra.ids import id_or_none
from orchestra.pagination import paginate
from tools.mcp.answers import Instant, present
from tools.mcp.args import DEFAULT_PAGE, Cursor, Limit, ProjectRef, Since, Tags, Timestamp, Until
from tools.mcp.registry import ToolContext, tool
from tools.notes import selectors, services
from tools.notes.models import Note
from tools.projects.selectors import project_get, project_or_default

NoteRef = Annotated[str, Field(min_length=1, max_length=64, description="Note id.")]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Content = Annotated[str, Field(max_length=65536)]


LinkType = Literal["project", "task", "decision", "spec", "feature", "note", "memory", "agent", "session"]


class RowLink(TypedDict):
    type: LinkType
    id: Annotated[str, Field(min_length=1, max_length=100)]


# Written by hand: pydantic's schema for this union (with $defs and $ref) costs twice
# the bytes in every listing. Validation still follows the types.
Links = Annotated[
    list[Annotated[str, Field(max_length=2000)] | RowLink],
    Field(max_length=20),
    WithJsonSchema(
        {
            "type": "array",
            "maxItems": 20,
            "items": {
                "anyOf": [
                    {"type": "string", "format": "uri"},
                    {
                        "properties": {"type": {"enum": list(get_args(LinkType))}, "id": {"type": "string"}},
                        "required": ["type", "id"],
                    },
                ]
            },
        }
    ),
]


class NoteBrief(TypedDict):
    """Empty fields are left out (tools.mcp.answers)."""

    id: str
    title: str
    tags: NotRequired[list[str]]
    links: NotRequired[list[Any]]
    project_id: NotRequired[str]
    author_id: NotRequired[str]
    created_at: Instant
    updated_at: Instant


class NoteOut(NoteBrief):
    content: str


class NoteListItem(NoteBrief):
    excerpt: NotRequired[str]


class NoteList(TypedDict):
    items: list[NoteListItem]
    next_cursor: str | None


def note_brief(note: Note) -> NoteBrief:
    return present(
        NoteBrief,
        id=str(note.pk),
        title=note.title,
        tags=note.tags,
        links=note.links,
        project_id=id_or_none(note.project_id),
        author_id=id_or_none(note.author_id),
        created_at=note.created_at,
        updated_at=note.updated_at,
    )


def note_out(note: Note, links: list[Any] | None = None) -> NoteOut:
    out = NoteOut(**note_brief(note), content=note.content)
    if links is not None:
        out["links"] = links
    return out


@tool(category="notes", read_only=False, creates=True)
def create_note(
    ctx: ToolContext,
    title: Title,
    content: Content | None = None,
    tags: Tags | None = None,
    links: Links | None = None,
    project: ProjectRef | None = None,
) -> NoteOut:
    """Write a markdown note."""
    # A project-restricted token's notes belong to its project, so it can see them again.
    project_row = project_or_default(project)
    note = services.note_create(
        actor=ctx.actor, title=title, content=content or "", tags=tags, links=links, project=project_row
    )
    return note_out(note)


@tool(category="notes", read_only=True, idempotent=True)
def list_notes(
    ctx: ToolContext,
    tag: Annotated[str | None, Field(max_length=50)] = None,
    search: Annotated[str | None, Field(min_length=1, max_length=500, description="Words in title or content.")] = None,
    project: ProjectRef | None = None,
    since: Since = None,
    until: Until = None,
    updated_since: Annotated[Timestamp | None, Field(description="Updated at or after (ISO 8601).")] = None,
    updated_until: Annotated[Timestamp | None, Field(description="Updated before (ISO 8601).")] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> NoteList:
    """List notes, newest first."""
    rows = selectors.note_list(
        tag=tag,
        search=search,
        project=project_get(project) if project else None,
        since=since,
        until=until,
        updated_since=updated_since,
        updated_until=updated_until,
    )
    page = paginate(rows, limit=limit, cursor=cursor)
    return NoteList(
        items=[present(NoteListItem, **note_brief(n), excerpt=n.excerpt) for n in page.items],
        next_cursor=page.next_cursor,
    )


@tool(category="notes", read_only=True, idempotent=True)
def get_note(ctx: ToolContext, note: NoteRef) -> NoteOut:
    """One note with its links resolved."""
    row = selectors.note_get(note)
    return note_out(row, selectors.resolve_links(row.links))


@tool(category="notes", read_only=False, idempotent=True)
def update_note(
    ctx: ToolContext,
    note: NoteRef,
    title: Title | None = None,
    content: Content | None = None,
    tags: Tags | None = None,
    links: Links | None = None,
) -> NoteOut:
    """Edit a note; lists given replace the old ones."""
    row = selectors.note_get(note)
    return note_out(
        services.note_update(actor=ctx.actor, note=row, title=title, content=content, tags=tags, links=links)
    )


@tool(category="notes", read_only=False, destructive=True, idempotent=True)
def delete_note(ctx: ToolContext, note: NoteRef) -> NoteOut:
    """Soft-delete a note."""
    row = selectors.note_get(note)
    return note_out(services.note_delete(actor=ctx.actor, note=row))
