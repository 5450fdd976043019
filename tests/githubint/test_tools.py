"""The five GitHub tools against the stand-in, through the real githubkit client."""

from __future__ import annotations

import pytest

from githubint.claude_md import BEGIN, END
from githubint.models import ConnectionStatus, GitHubConnection, Repository
from tests.conftest import error_code, ok
from tests.githubint.conftest import sync
from tests.tools.world import row_counts


def connect(call, identity, connected, full_name="acme/widgets"):
    return call(identity, "connect_repo", project=connected.project, full_name=full_name)


def test_connect_repo_stores_it_and_the_sync_fills_it_in(call, alice_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))
    assert repo["full_name"] == "acme/widgets" and repo["sync_status"] == "pending"
    assert repo["default_branch"] == "main" and repo["url"].endswith("/acme/widgets")
    assert sync(repo["id"]) == "ok"
    listed = ok(call(alice_id, "list_repos"))
    (item,) = listed["items"]
    assert item["sync_status"] == "ok" and item["last_synced_at"] and item["sync_error"] == ""
    assert item["branches"] == ["feature", "main"] and item["languages"] == {"Python": 9000, "HTML": 1200}
    assert item["latest_commits"][0]["message"] == "Initial commit"
    assert listed["connection"] == {"kind": "app", "status": "active", "account": "acme"}
    # Connecting it again is a no-op that asks for another sync.
    again = ok(connect(call, alice_id, connected))
    assert again["id"] == repo["id"] and Repository.unscoped.count() == 1


def test_a_repository_the_installation_cannot_see_says_where_to_add_it(call, alice_id, connected) -> None:
    before = row_counts()
    outcome = connect(call, alice_id, connected, "globex/gears")
    assert error_code(outcome) == "not_found"
    message = outcome.structured["error"]["message"]
    assert "add it to the installation" in message
    assert f"/organizations/acme/settings/installations/{connected.acme.id}" in message
    assert row_counts() == before


def test_without_a_connection_the_tools_say_github_is_not_connected(call, alice_id, github, alice, acme) -> None:
    project = ok(call(alice_id, "create_project", name="Alone"))["slug"]
    outcome = call(alice_id, "connect_repo", project=project, full_name="acme/widgets")
    assert error_code(outcome) == "conflict"
    assert outcome.structured["error"]["message"].startswith("GitHub is not connected: ")
    assert ok(call(alice_id, "list_repos")) == {"items": [], "next_cursor": None, "connection": None}


def test_without_app_settings_the_tools_say_so(call, alice_id, connected, settings) -> None:
    settings.GITHUB_APP_ID = ""
    settings.GITHUB_APP_PRIVATE_KEY = ""
    outcome = connect(call, alice_id, connected)
    assert (
        error_code(outcome) == "conflict"
        and "GitHub App settings are missing" in outcome.structured["error"]["message"]
    )


def test_a_suspended_installation_shows_in_list_repos_and_stops_the_tools(call, alice_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))
    GitHubConnection.unscoped.filter(installation_id=connected.acme.id).update(status=ConnectionStatus.SUSPENDED)
    assert ok(call(alice_id, "list_repos"))["connection"]["status"] == "suspended"
    outcome = call(alice_id, "sync_repo", repository=repo["id"])
    assert error_code(outcome) == "conflict" and "suspended" in outcome.structured["error"]["message"]


def test_sync_repo_answers_at_once_with_the_state(call, alice_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))
    sync(repo["id"])
    answer = ok(call(alice_id, "sync_repo", repository="acme/widgets"))
    assert answer["sync_status"] == "pending" and answer["id"] == repo["id"]
    assert sync(repo["id"]) == "ok"


def test_create_pr_opens_it_with_reviewers(call, alice_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))
    sync(repo["id"])
    pr = ok(
        call(
            alice_id,
            "create_pr",
            repository=repo["id"],
            title="Add the app",
            head="feature",
            body="Please review",
            draft=True,
            reviewers=["hubot", "acme/core"],
        )
    )
    assert pr["number"] == 1 and pr["url"].endswith("/acme/widgets/pull/1") and pr["base"] == "main"
    assert pr["dry_run"] is False and pr["warnings"] == []
    (pull,) = connected.github.repos["acme/widgets"].pulls
    assert pull.draft and pull.body == "Please review" and pull.user == "orchestra-test[bot]"
    assert pull.reviewers == ["hubot"] and pull.team_reviewers == ["core"]
    listed = ok(call(alice_id, "list_repos"))["items"][0]["open_pull_requests"]
    assert [p["number"] for p in listed] == [1]


def test_create_pr_errors_are_clear_and_change_nothing(call, alice_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))["id"]
    before = row_counts()
    missing = call(alice_id, "create_pr", repository=repo, title="T", head="no-such-branch")
    assert error_code(missing) == "invalid_arguments" and "no-such-branch" in missing.structured["error"]["message"]
    ok(call(alice_id, "create_pr", repository=repo, title="T", head="feature"))
    after_first = row_counts()
    duplicate = call(alice_id, "create_pr", repository=repo, title="T again", head="feature")
    assert error_code(duplicate) == "conflict" and "#1" in duplicate.structured["error"]["message"]
    assert duplicate.structured["error"]["details"]["number"] == 1
    assert row_counts() == after_first != before
    assert len(connected.github.repos["acme/widgets"].pulls) == 1


def test_a_reviewer_github_refuses_is_a_warning(call, alice_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))["id"]
    pr = ok(call(alice_id, "create_pr", repository=repo, title="T", head="feature", reviewers=["stranger"]))
    assert pr["number"] == 1 and "refused the reviewers" in pr["warnings"][0]


def test_a_rate_limit_is_a_tool_error_with_the_reset(call, alice_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))["id"]
    connected.github.rate_limit_next = 5
    outcome = call(alice_id, "create_pr", repository=repo, title="T", head="feature")
    assert error_code(outcome) == "rate_limited"
    assert 3500 <= outcome.structured["error"]["details"]["retry_after_seconds"] <= 3600
    assert "retry after" in outcome.structured["error"]["message"]


def test_test_tokens_get_dry_runs(call, alice, acme, issue_token, connected) -> None:
    from accounts.auth import authenticate_token

    sandbox = authenticate_token(issue_token(alice, acme, mode="test"))
    project = ok(call(sandbox, "create_project", name="Sandbox widgets"))["slug"]
    # The sandbox reads through its live organization's connection...
    repo = ok(call(sandbox, "connect_repo", project=project, full_name="acme/widgets"))
    pr = ok(call(sandbox, "create_pr", repository=repo["id"], title="T", head="feature", reviewers=["hubot"]))
    assert pr["dry_run"] is True and pr["number"] is None and pr["base"] == "main" and pr["reviewers"] == ["hubot"]
    md = ok(call(sandbox, "generate_claude_md", project=project, repository=repo["id"], commit=True))
    assert md["dry_run"] is True and md["action"] == "would_open" and md["branch"] == "orchestra/claude-md"
    # ...and never writes to GitHub.
    github_repo = connected.github.repos["acme/widgets"]
    assert github_repo.pulls == [] and set(github_repo.branches) == {"main", "feature"}
    assert not any(r.startswith(("POST", "PUT")) for r in connected.github.requests if "access_tokens" not in r)


def test_generate_claude_md_renders_the_project(call, alice_id, connected) -> None:
    project = connected.project
    repo = ok(connect(call, alice_id, connected))
    sync(repo["id"])
    decision = ok(call(alice_id, "log_decision", title="Tabs", decision="Use tabs <!-- sneaky -->", project=project))
    ok(call(alice_id, "update_decision", decision=decision["id"], status="accepted"))
    ok(call(alice_id, "log_decision", title="Maybe", decision="Not yet", project=project))
    spec = ok(call(alice_id, "create_spec", title="API", project=project, status="approved"))
    ok(call(alice_id, "create_feature", title="Login", project=project))
    ok(call(alice_id, "create_task", title="Fix the build", project=project, priority="critical"))
    ok(call(alice_id, "create_task", title="Write docs", project=project, priority="low"))
    first = ok(call(alice_id, "generate_claude_md", project=project, repository=repo["id"]))
    second = ok(call(alice_id, "generate_claude_md", project=project, repository="acme/widgets"))
    md = first["markdown"]
    assert md == second["markdown"] and first["action"] == "rendered" and first["lines"] < 200
    assert md.startswith(BEGIN) and md.rstrip().endswith(END) and md.count("<!--") == 2
    assert "Widgets for everyone." in md and "Default branch: `main`" in md and "Python (88%)" in md
    assert "**Tabs**: Use tabs &lt;!-- sneaky --&gt;" in md and "Maybe" not in md
    assert f"/specs/{spec['id']}/" in md and "Login (gate: spec)" in md
    assert md.index("Fix the build") < md.index("Write docs")


def test_generate_claude_md_commits_then_updates_the_same_pull_request(call, alice_id, connected) -> None:
    github = connected.github
    repo = ok(connect(call, alice_id, connected))
    sync(repo["id"])
    github.commit("acme/widgets", "main", {"CLAUDE.md": "# Ours\n\nHand-written notes.\n"}, "People's CLAUDE.md")
    first = ok(call(alice_id, "generate_claude_md", project=connected.project, repository=repo["id"], commit=True))
    assert first["action"] == "opened" and first["pull_request"]["number"] == 1
    assert first["branch"] == "orchestra/claude-md"
    widgets = github.repos["acme/widgets"]
    on_branch = widgets.commits[widgets.branches["orchestra/claude-md"]].files["CLAUDE.md"]
    assert on_branch.startswith("# Ours\n\nHand-written notes.\n") and BEGIN in on_branch

    # Someone adds a commit to the branch; a new decision changes the block.
    people = github.commit("acme/widgets", "orchestra/claude-md", {"NOTES.md": "keep me"}, "A person's commit")
    decision = ok(call(alice_id, "log_decision", title="Ruff", decision="Lint with ruff", project=connected.project))
    ok(call(alice_id, "update_decision", decision=decision["id"], status="accepted"))
    second = ok(call(alice_id, "generate_claude_md", project=connected.project, repository=repo["id"], commit=True))
    assert second["action"] == "updated" and second["pull_request"]["number"] == 1
    assert len(widgets.pulls) == 1
    head = widgets.commits[widgets.branches["orchestra/claude-md"]]
    assert head.parent == people and head.files["NOTES.md"] == "keep me"  # on top: no force push
    assert "Lint with ruff" in head.files["CLAUDE.md"] and head.files["CLAUDE.md"].count(BEGIN) == 1
    assert "Hand-written notes." in head.files["CLAUDE.md"]

    # Nothing new: no commit.
    third = ok(call(alice_id, "generate_claude_md", project=connected.project, repository=repo["id"], commit=True))
    assert third["action"] == "unchanged" and widgets.branches["orchestra/claude-md"] == head.sha

    # Once merged (closed here), the next run opens a new pull request on a new branch.
    widgets.pulls[0].state, widgets.pulls[0].merged = "closed", True
    ok(call(alice_id, "update_decision", decision=decision["id"], comment="still true"))
    ok(call(alice_id, "create_task", title="New work", project=connected.project))
    fourth = ok(call(alice_id, "generate_claude_md", project=connected.project, repository=repo["id"], commit=True))
    assert fourth["action"] == "opened" and fourth["pull_request"]["number"] == 2
    assert fourth["branch"] == "orchestra/claude-md-2"


def test_charlie_cannot_reach_alices_repositories(call, alice_id, charlie_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))
    before = row_counts()
    for name, arguments in (
        ("sync_repo", {"repository": repo["id"]}),
        ("sync_repo", {"repository": "acme/widgets"}),
        ("create_pr", {"repository": repo["id"], "title": "T", "head": "feature"}),
        ("generate_claude_md", {"project": connected.charlie_project, "repository": repo["id"], "commit": True}),
    ):
        outcome = call(charlie_id, name, **arguments)
        assert error_code(outcome) == "not_found", (name, outcome.structured)
    # His installation does not see acme's repository either.
    outcome = call(charlie_id, "connect_repo", project=connected.charlie_project, full_name="acme/widgets")
    assert error_code(outcome) == "not_found"
    assert ok(call(charlie_id, "list_repos"))["items"] == []
    assert row_counts() == before
    assert connected.github.repos["acme/widgets"].pulls == []


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("connect_repo", {"full_name": "not a name"}),
        ("create_pr", {"title": "", "head": "feature"}),
        ("create_pr", {"title": "T", "head": "bad branch"}),
        ("create_pr", {"title": "T", "head": "feature", "reviewers": ["not a login!"]}),
    ],
)
def test_bad_input_changes_nothing(call, alice_id, connected, name, arguments) -> None:
    repo = ok(connect(call, alice_id, connected))
    arguments = (
        {"project": connected.project, **arguments}
        if name == "connect_repo"
        else {"repository": repo["id"], **arguments}
    )
    before = row_counts()
    assert error_code(call(alice_id, name, **arguments)) == "invalid_arguments"
    assert row_counts() == before and connected.github.repos["acme/widgets"].pulls == []


def test_installation_tokens_are_cached_not_stored(call, alice_id, connected) -> None:
    repo = ok(connect(call, alice_id, connected))
    sync(repo["id"])
    ok(call(alice_id, "create_pr", repository=repo["id"], title="T", head="feature"))
    assert connected.github.access_tokens_issued == 1
    stored = str(list(GitHubConnection.unscoped.values())) + str(list(Repository.unscoped.values()))
    assert "ghs_" not in stored


def test_a_project_restricted_token_keeps_to_its_project(call, alice, acme, alice_id, issue_token, connected) -> None:
    from accounts.auth import authenticate_token

    repo = ok(connect(call, alice_id, connected))
    other = ok(call(alice_id, "create_project", name="Other"))
    restricted = authenticate_token(issue_token(alice, acme, project_id=other["id"], name="other only"))
    # The organization's connection serves it, but the repository of another project is out of reach...
    assert ok(call(restricted, "list_repos"))["items"] == []
    assert error_code(call(restricted, "sync_repo", repository=repo["id"])) == "not_found"
    # ...and connecting it to its own project is refused, not a crash.
    before = row_counts()
    taken = call(restricted, "connect_repo", project=other["slug"], full_name="acme/widgets")
    assert error_code(taken) == "conflict" and "already connected" in taken.structured["error"]["message"]
    assert row_counts() == before
