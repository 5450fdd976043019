"""Writing to GitHub: pull requests, and CLAUDE.md on its own branch.

Every failure GitHub answers becomes a tool error (or, for reviewers GitHub refuses
after the pull request exists, a warning in the result); never a 500."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from githubkit import GitHub
from githubkit.exception import GitHubException, RequestFailed

from githubint.client import json_of, message_of, status_of
from githubint.errors import github_error
from githubint.sync import pull_summary, split_name
from orchestra.errors import Conflict, InvalidArguments

CLAUDE_MD_BRANCH = "orchestra/claude-md"


@dataclass
class PullPlan:
    title: str
    head: str
    base: str
    body: str
    draft: bool
    reviewers: list[str] = field(default_factory=list)
    team_reviewers: list[str] = field(default_factory=list)


def split_reviewers(reviewers: list[str]) -> tuple[list[str], list[str]]:
    """Users, and `org/team` slugs (GitHub takes the team's slug as a team reviewer)."""
    users, teams = [], []
    for reviewer in dict.fromkeys(r.strip().lstrip("@") for r in reviewers if r.strip()):
        if "/" in reviewer:
            teams.append(reviewer.split("/", 1)[1])
        else:
            users.append(reviewer)
    return users, teams


def branch_sha(github: GitHub[Any], full_name: str, branch: str) -> str | None:
    owner, name = split_name(full_name)
    try:
        return str(json_of(github.rest.git.get_ref(owner, name, f"heads/{branch}"))["object"]["sha"])
    except RequestFailed as exc:
        if status_of(exc) == 404:
            return None
        raise


def open_pull_for(github: GitHub[Any], full_name: str, head: str) -> dict[str, Any] | None:
    owner, name = split_name(full_name)
    pulls = json_of(github.rest.pulls.list(owner, name, state="open", head=f"{owner}:{head}", per_page=5))
    return pulls[0] if pulls else None


def check_branches(github: GitHub[Any], full_name: str, head: str, base: str) -> None:
    """Clear errors for a head or base that does not exist (reads only)."""
    try:
        for argument, branch in (("head", head), ("base", base)):
            if branch_sha(github, full_name, branch) is None:
                raise InvalidArguments(
                    f"{argument}: branch {branch!r} does not exist in {full_name}; push it first",
                    details={"argument": argument, "branch": branch},
                )
    except GitHubException as exc:
        raise github_error(exc, f"reading branches of {full_name}") from None


def existing_pull_conflict(full_name: str, pull: dict[str, Any]) -> Conflict:
    return Conflict(
        f"a pull request from {pull['head']['ref']} already exists in {full_name}: "
        f"#{pull['number']} {pull['html_url']}",
        details={"number": pull["number"], "url": pull["html_url"]},
    )


def open_pull(github: GitHub[Any], full_name: str, plan: PullPlan) -> tuple[dict[str, Any], list[str]]:
    """Open the pull request and request its reviewers; (pull, warnings)."""
    owner, name = split_name(full_name)
    doing = f"opening a pull request in {full_name}"
    try:
        existing = open_pull_for(github, full_name, plan.head)
        if existing is not None:
            raise existing_pull_conflict(full_name, existing)
        pull = json_of(
            github.rest.pulls.create(
                owner, name, title=plan.title, head=plan.head, base=plan.base, body=plan.body, draft=plan.draft
            )
        )
    except RequestFailed as exc:
        if status_of(exc) == 422:
            raise InvalidArguments(f"GitHub refused the pull request: {message_of(exc)}") from None
        raise github_error(exc, doing) from None
    except GitHubException as exc:
        raise github_error(exc, doing) from None
    warnings: list[str] = []
    if plan.reviewers or plan.team_reviewers:
        try:
            github.rest.pulls.request_reviewers(
                owner, name, pull["number"], reviewers=plan.reviewers, team_reviewers=plan.team_reviewers
            )
        except GitHubException as exc:
            warnings.append(f"the pull request is open, but GitHub refused the reviewers: {message_of(exc)}")
    return pull, warnings


def read_file(github: GitHub[Any], full_name: str, path: str, ref: str) -> tuple[str | None, str | None]:
    """(content, blob sha) of a file on `ref`, or (None, None) when it does not exist."""
    owner, name = split_name(full_name)
    try:
        data = json_of(github.rest.repos.get_content(owner, name, path, ref=ref))
    except RequestFailed as exc:
        if status_of(exc) == 404:
            return None, None
        raise
    if not isinstance(data, dict) or data.get("type") != "file":
        raise Conflict(f"{path} in {full_name} is not a file")
    return base64.b64decode(data.get("content", "")).decode(errors="replace"), data.get("sha")


def write_file(
    github: GitHub[Any], full_name: str, path: str, *, branch: str, content: str, sha: str | None, message: str
) -> str:
    """A commit on `branch` that sets `path` (on top of its head: never a force push)."""
    owner, name = split_name(full_name)
    payload: dict[str, Any] = {
        "message": message,
        "content": base64.b64encode(content.encode()).decode(),
        "branch": branch,
    }
    if sha:
        payload["sha"] = sha
    answer = json_of(github.rest.repos.create_or_update_file_contents(owner, name, path, data=payload))  # type: ignore[call-overload]
    return str(answer["commit"]["sha"])


def create_branch(github: GitHub[Any], full_name: str, branch: str, sha: str) -> None:
    owner, name = split_name(full_name)
    github.rest.git.create_ref(owner, name, ref=f"refs/heads/{branch}", sha=sha)


def summary(pull: dict[str, Any]) -> dict[str, Any]:
    return pull_summary(pull)


@dataclass
class ClaudeMdOutcome:
    markdown: str  # the whole CLAUDE.md as committed (or as it would be)
    action: str  # opened, updated, unchanged, would_open, would_update
    branch: str | None
    commit_sha: str | None = None
    pull_number: int | None = None
    pull_url: str | None = None


PULL_TITLE = "Update CLAUDE.md from Orchestra"
PULL_BODY = (
    "Orchestra regenerated the block between the `orchestra:begin` and `orchestra:end` markers of CLAUDE.md "
    "from the project's description, decisions, specs, features and tasks. Text outside the markers is kept; "
    "commits you add to this branch are kept too (Orchestra only adds commits on top)."
)


def _reusable_pull(github: GitHub[Any], repository: Any) -> dict[str, Any] | None:
    """The open pull request of an earlier run: the one remembered, or one open from our branch."""
    owner, name = split_name(repository.full_name)
    if repository.claude_md_pull_number:
        try:
            pull = json_of(github.rest.pulls.get(owner, name, repository.claude_md_pull_number))
        except RequestFailed as exc:
            if status_of(exc) != 404:
                raise
            pull = None
        if pull is not None and pull.get("state") == "open" and not pull.get("merged"):
            return pull
    if repository.claude_md_branch:
        return open_pull_for(github, repository.full_name, repository.claude_md_branch)
    return open_pull_for(github, repository.full_name, CLAUDE_MD_BRANCH)


def _free_branch(github: GitHub[Any], full_name: str) -> str:
    """Our branch name, or the first free variant when an old (merged or closed) one remains."""
    for n in range(1, 50):
        candidate = CLAUDE_MD_BRANCH if n == 1 else f"{CLAUDE_MD_BRANCH}-{n}"
        if branch_sha(github, full_name, candidate) is None:
            return candidate
    raise Conflict(f"{full_name} has too many old {CLAUDE_MD_BRANCH} branches; delete merged ones")


def publish_claude_md(github: GitHub[Any], repository: Any, block: str, *, dry_run: bool) -> ClaudeMdOutcome:
    """Commit CLAUDE.md (with `block` merged in) on Orchestra's branch and open a pull
    request, or add a commit to the open one of an earlier run. Never rewrites history:
    every change is a new commit on the branch's current head."""
    from githubint.claude_md import PATH, merge

    full_name = repository.full_name
    base = repository.default_branch or "main"
    pull = _reusable_pull(github, repository)
    if pull is not None:
        branch = pull["head"]["ref"]
        existing, sha = read_file(github, full_name, PATH, branch)
        content = merge(existing, block)
        if content == existing:
            return ClaudeMdOutcome(content, "unchanged", branch, None, pull["number"], pull["html_url"])
        if dry_run:
            return ClaudeMdOutcome(content, "would_update", branch, None, pull["number"], pull["html_url"])
        commit_sha = write_file(
            github, full_name, PATH, branch=branch, content=content, sha=sha, message="Update CLAUDE.md from Orchestra"
        )
        return ClaudeMdOutcome(content, "updated", branch, commit_sha, pull["number"], pull["html_url"])
    base_sha = branch_sha(github, full_name, base)
    if base_sha is None:
        raise Conflict(f"the default branch {base} of {full_name} was not found; run sync_repo")
    existing, sha = read_file(github, full_name, PATH, base)
    content = merge(existing, block)
    if content == existing:
        return ClaudeMdOutcome(content, "unchanged", None)
    branch = _free_branch(github, full_name)
    if dry_run:
        return ClaudeMdOutcome(content, "would_open", branch)
    create_branch(github, full_name, branch, base_sha)
    commit_sha = write_file(
        github, full_name, PATH, branch=branch, content=content, sha=sha, message="Update CLAUDE.md from Orchestra"
    )
    opened, _warnings = open_pull(github, full_name, PullPlan(PULL_TITLE, branch, base, PULL_BODY, False))
    return ClaudeMdOutcome(content, "opened", branch, commit_sha, opened["number"], opened["html_url"])
