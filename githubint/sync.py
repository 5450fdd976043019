"""What a sync reads from GitHub about one repository, and applying it.

Reads only: repository (default branch), branches, languages, open pull requests
and the latest commits of the default branch. Applying is idempotent: the row ends
up holding what GitHub said, however often it runs."""

from __future__ import annotations

from typing import Any

from githubkit import GitHub

from githubint.client import PER_PAGE, all_pages, json_of

COMMITS_KEPT = 20
PULLS_KEPT = 100
BRANCHES_KEPT = 300


def split_name(full_name: str) -> tuple[str, str]:
    owner, _, name = full_name.partition("/")
    return owner, name


def pull_summary(pull: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": pull["number"],
        "title": pull.get("title") or "",
        "url": pull.get("html_url") or "",
        "head": (pull.get("head") or {}).get("ref", ""),
        "base": (pull.get("base") or {}).get("ref", ""),
        "draft": bool(pull.get("draft")),
        "author": (pull.get("user") or {}).get("login", ""),
    }


def commit_summary(commit: dict[str, Any]) -> dict[str, Any]:
    inner = commit.get("commit") or {}
    author = inner.get("author") or {}
    return {
        "sha": commit["sha"],
        "message": (inner.get("message") or "").splitlines()[0][:200] if inner.get("message") else "",
        "author": (commit.get("author") or {}).get("login") or author.get("name", ""),
        "date": author.get("date"),
        "url": commit.get("html_url") or "",
    }


def fetch_repository(github: GitHub[Any], full_name: str) -> dict[str, Any]:
    """Everything a sync stores, read from GitHub (raises githubkit's errors)."""
    owner, name = split_name(full_name)
    repo = json_of(github.rest.repos.get(owner, name))
    default_branch = repo.get("default_branch") or "main"
    branches = [
        {"name": b["name"], "sha": (b.get("commit") or {}).get("sha", "")}
        for b in all_pages(lambda page: github.rest.repos.list_branches(owner, name, per_page=PER_PAGE, page=page))
    ][:BRANCHES_KEPT]
    languages = json_of(github.rest.repos.list_languages(owner, name))
    pulls = [
        pull_summary(p)
        for p in all_pages(lambda page: github.rest.pulls.list(owner, name, state="open", per_page=PER_PAGE, page=page))
    ][:PULLS_KEPT]
    commits = [
        commit_summary(c)
        for c in json_of(github.rest.repos.list_commits(owner, name, sha=default_branch, per_page=COMMITS_KEPT))
    ]
    return {
        "full_name": repo.get("full_name") or full_name,
        "github_id": repo.get("id"),
        "html_url": repo.get("html_url") or "",
        "private": bool(repo.get("private", True)),
        "default_branch": default_branch,
        "branches": branches,
        "languages": dict(sorted(languages.items(), key=lambda item: (-item[1], item[0]))),
        "open_pull_requests": pulls,
        "latest_commits": commits,
    }
