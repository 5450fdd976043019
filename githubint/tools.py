"""The five GitHub tools. They reach outside Orchestra (openWorldHint). A test token
(orch_test_) reads through its live organization's connection and never writes to
GitHub: create_pr and a committing generate_claude_md answer with `dry_run: true`
and what they would have done."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.conf import settings
from githubkit.exception import GitHubException, RequestFailed
from pydantic import Field
from typing_extensions import TypedDict

from accounts.models import TokenMode
from githubint import claude_md, pulls, selectors, services
from githubint.client import json_of, status_of
from githubint.errors import github_error
from githubint.models import GitHubConnection, Repository
from githubint.sync import split_name
from orchestra.errors import InvalidArguments, NotFound
from orchestra.pagination import paginate
from tools.mcp.answers import Instant
from tools.mcp.args import DEFAULT_PAGE, Cursor, Limit, ProjectRef
from tools.mcp.registry import ToolContext, tool
from tools.projects.selectors import project_get

RepositoryRef = Annotated[str, Field(min_length=1, max_length=200, description="Repository id or owner/name.")]
FullName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$", description="owner/name.")]
# A git branch name: no whitespace, control characters or the characters git refuses.
Branch = Annotated[str, Field(pattern=r"^[^\s~^:?*\[\\\x00-\x1f\x7f]{1,255}$")]
Reviewer = Annotated[str, Field(pattern=r"^@?[A-Za-z0-9-]{1,39}(/[A-Za-z0-9_.-]{1,100})?$")]
Reviewers = Annotated[list[Reviewer], Field(max_length=15, description="Logins, or org/team slugs.")]


class PullOut(TypedDict):
    number: int
    title: str
    url: str
    head: str
    base: str
    draft: bool
    author: str


class CommitOut(TypedDict):
    sha: str
    message: str
    author: str
    date: str | None
    url: str


class RepositoryOut(TypedDict):
    id: str
    project_id: str
    full_name: str
    url: str
    private: bool
    default_branch: str
    sync_status: Literal["pending", "syncing", "ok", "error"]
    sync_error: str
    last_synced_at: Instant | None
    languages: dict[str, int]
    branches: list[str]
    open_pull_requests: list[PullOut]
    latest_commits: list[CommitOut]


class ConnectionOut(TypedDict):
    kind: str
    status: str
    account: str


class RepositoryList(TypedDict):
    items: list[RepositoryOut]
    next_cursor: str | None
    connection: ConnectionOut | None


class PullRequestResult(TypedDict):
    dry_run: bool
    number: int | None
    url: str | None
    title: str
    head: str
    base: str
    draft: bool
    reviewers: list[str]
    team_reviewers: list[str]
    warnings: list[str]


class ClaudeMdPull(TypedDict):
    number: int | None
    url: str | None


class ClaudeMdResult(TypedDict):
    markdown: str
    lines: int
    dry_run: bool
    action: Literal["rendered", "opened", "updated", "unchanged", "would_open", "would_update"]
    branch: str | None
    commit_sha: str | None
    pull_request: ClaudeMdPull | None


def repository_out(row: Repository) -> RepositoryOut:
    return RepositoryOut(
        id=str(row.pk),
        project_id=str(row.project_id),
        full_name=row.full_name,
        url=row.html_url,
        private=row.private,
        default_branch=row.default_branch,
        sync_status=row.sync_status,  # type: ignore[typeddict-item]
        sync_error=row.sync_error,
        last_synced_at=row.last_synced_at,
        languages=row.languages,
        branches=[b["name"] for b in row.branches],
        open_pull_requests=list(row.open_pull_requests),
        latest_commits=list(row.latest_commits),
    )


def _connection_out(connection: GitHubConnection | None) -> ConnectionOut | None:
    if connection is None:
        return None
    return ConnectionOut(kind=connection.kind, status=connection.status, account=connection.account_login)


def _dry(ctx: ToolContext) -> bool:
    return ctx.identity.mode == TokenMode.TEST


@tool(category="github", read_only=False, idempotent=True, open_world=True)
def connect_repo(ctx: ToolContext, project: ProjectRef, full_name: FullName) -> RepositoryOut:
    """Connect a GitHub repository (owner/name) that the organization's GitHub connection
    can see to a project; starts a sync."""
    row = project_get(project)
    connection = selectors.usable_connection(ctx.identity.organization)
    github = selectors.github_for(connection)
    owner, name = split_name(full_name)
    try:
        data = json_of(github.rest.repos.get(owner, name))
    except RequestFailed as exc:
        if status_of(exc) == 404:
            url = selectors.installation_url(connection)
            raise NotFound(
                f"full_name not found: GitHub shows no {full_name} to this connection; "
                f"add it to the installation at {url}",
                details={"argument": "full_name", "value": full_name, "add_at": url},
            ) from None
        raise github_error(exc, f"reading {full_name}") from None
    except GitHubException as exc:
        raise github_error(exc, f"reading {full_name}") from None
    metadata = {
        "full_name": data.get("full_name") or full_name,
        "github_id": data.get("id"),
        "html_url": data.get("html_url") or "",
        "private": data.get("private", True),
        "default_branch": data.get("default_branch") or "",
    }
    repository, _created = services.repository_connect(actor=ctx.actor, project=row, metadata=metadata)
    return repository_out(repository)


@tool(category="github", read_only=True, idempotent=True, open_world=True)
def list_repos(
    ctx: ToolContext, project: ProjectRef | None = None, limit: Limit = DEFAULT_PAGE, cursor: Cursor = None
) -> RepositoryList:
    """Connected repositories with sync state, last sync, default branch and open pull requests."""
    rows = selectors.repositories()
    if project:
        rows = rows.filter(project=project_get(project))
    page = paginate(rows, limit=limit, cursor=cursor)
    return RepositoryList(
        items=[repository_out(r) for r in page.items],
        next_cursor=page.next_cursor,
        connection=_connection_out(selectors.connection_for(ctx.identity.organization)),
    )


@tool(category="github", read_only=False, idempotent=True, open_world=True)
def sync_repo(ctx: ToolContext, repository: RepositoryRef) -> RepositoryOut:
    """Refresh a repository's metadata from GitHub in the background; answers at once with the sync state."""
    row = selectors.repository_get(repository)
    selectors.usable_connection(ctx.identity.organization)
    return repository_out(services.repository_request_sync(actor=ctx.actor, repository=row))


@tool(category="github", read_only=False, open_world=True, creates=True)
def create_pr(
    ctx: ToolContext,
    repository: RepositoryRef,
    title: Annotated[str, Field(min_length=1, max_length=256)],
    head: Branch,
    base: Branch | None = None,
    body: Annotated[str | None, Field(max_length=60_000)] = None,
    draft: bool = False,
    reviewers: Reviewers | None = None,
) -> PullRequestResult:
    """Open a pull request from head into base (default: the default branch); test tokens get a dry run."""
    row = selectors.repository_get(repository)
    if not title.strip():
        raise InvalidArguments("title must not be empty")
    connection = selectors.usable_connection(ctx.identity.organization)
    github = selectors.github_for(connection)
    target = base or row.default_branch or _default_branch(github, row)
    users, teams = pulls.split_reviewers(reviewers or [])
    plan = pulls.PullPlan(
        title=title.strip(), head=head, base=target, body=body or "", draft=draft, reviewers=users, team_reviewers=teams
    )
    pulls.check_branches(github, row.full_name, head, target)
    if _dry(ctx):
        try:
            existing = pulls.open_pull_for(github, row.full_name, head)
        except GitHubException as exc:
            raise github_error(exc, f"reading pull requests of {row.full_name}") from None
        if existing is not None:
            raise pulls.existing_pull_conflict(row.full_name, existing)
        services.repository_record_pull(
            actor=ctx.actor, repository=row, pull=None, dry_run=True, description=f"Would open {head} → {target}"
        )
        return _pull_result(plan, None, [], dry_run=True)
    pull, warnings = pulls.open_pull(github, row.full_name, plan)
    summary = pulls.summary(pull)
    services.repository_record_pull(
        actor=ctx.actor,
        repository=row,
        pull=summary,
        dry_run=False,
        description=f"Opened #{summary['number']} {head} → {target} in {row.full_name}",
    )
    return _pull_result(plan, pull, warnings, dry_run=False)


def _pull_result(
    plan: pulls.PullPlan, pull: dict[str, Any] | None, warnings: list[str], *, dry_run: bool
) -> PullRequestResult:
    return PullRequestResult(
        dry_run=dry_run,
        number=pull["number"] if pull else None,
        url=pull["html_url"] if pull else None,
        title=plan.title,
        head=plan.head,
        base=plan.base,
        draft=plan.draft,
        reviewers=plan.reviewers,
        team_reviewers=plan.team_reviewers,
        warnings=warnings,
    )


def _default_branch(github: Any, row: Repository) -> str:
    owner, name = split_name(row.full_name)
    try:
        return str(json_of(github.rest.repos.get(owner, name)).get("default_branch") or "main")
    except GitHubException as exc:
        raise github_error(exc, f"reading {row.full_name}") from None


@tool(category="github", read_only=False, open_world=True)
def generate_claude_md(
    ctx: ToolContext, project: ProjectRef, repository: RepositoryRef, commit: bool = False
) -> ClaudeMdResult:
    """Render CLAUDE.md from the project and the repository's synced metadata; commit=true
    commits it on a branch and opens (or updates) a pull request."""
    row_project = project_get(project)
    row = selectors.repository_get(repository)
    block = claude_md.render(row_project, row, app_url=settings.APP_URL)
    if not commit:
        return ClaudeMdResult(
            markdown=block,
            lines=claude_md.line_count(block),
            dry_run=False,
            action="rendered",
            branch=None,
            commit_sha=None,
            pull_request=None,
        )
    connection = selectors.usable_connection(ctx.identity.organization)
    github = selectors.github_for(connection)
    try:
        outcome = pulls.publish_claude_md(github, row, block, dry_run=_dry(ctx))
    except GitHubException as exc:
        raise github_error(exc, f"committing CLAUDE.md to {row.full_name}") from None
    services.repository_record_claude_md(actor=ctx.actor, repository=row, outcome=outcome, dry_run=_dry(ctx))
    return ClaudeMdResult(
        markdown=outcome.markdown,
        lines=claude_md.line_count(outcome.markdown),
        dry_run=_dry(ctx),
        action=outcome.action,  # type: ignore[typeddict-item]
        branch=outcome.branch,
        commit_sha=outcome.commit_sha,
        pull_request=ClaudeMdPull(number=outcome.pull_number, url=outcome.pull_url) if outcome.pull_number else None,
    )
