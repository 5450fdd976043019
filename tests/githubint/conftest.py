from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from githubint.services import connection_link_installation
from orchestra.actor import Actor
from tests.conftest import ok
from tests.github_standin import GitHubStandIn, Installation


@dataclass
class Connected:
    github: GitHubStandIn
    acme: Installation
    globex: Installation
    project: str  # alice's project slug
    charlie_project: str


@pytest.fixture
def connected(github, alice, acme, charlie, globex, alice_id, charlie_id, call) -> Connected:
    """acme and globex each linked to their own installation of the App; acme's sees
    acme/widgets (main, feature with a commit), globex's sees globex/gears."""
    github.add_repo("acme/widgets", branches=("main", "feature"))
    github.commit("acme/widgets", "feature", {"app.py": "print('widgets')\n"}, "Add the app")
    github.add_repo("globex/gears")
    mine = github.add_installation("acme", ["acme/widgets"])
    theirs = github.add_installation("globex", ["globex/gears"])
    for org, installation, user in ((acme, mine, alice), (globex, theirs, charlie)):
        connection_link_installation(
            actor=Actor(user_id=user.pk),
            organization=org,
            installation_id=installation.id,
            account_login=installation.account,
            account_type="Organization",
        )
    project = ok(call(alice_id, "create_project", name="Widgets", description="Widgets for everyone."))["slug"]
    theirs_project = ok(call(charlie_id, "create_project", name="Gears"))["slug"]
    return Connected(github, mine, theirs, project, theirs_project)


def sync(repository_id: Any) -> str:
    """Run the sync a tool enqueued (tests run inside one transaction: on_commit never fires)."""
    from githubint.tasks import sync_now

    return sync_now(str(repository_id))
