"""The dashboard's GitHub page and its install flow (signed single-use state, the
person's user token through the App's OAuth, their admin right), the token
alternative, and `manage.py connectgithub`."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from githubint.crypto import decrypt
from githubint.models import GitHubConnection
from tests.conftest import ok
from tools.activity.models import Activity


@pytest.fixture
def alice_web(alice, acme) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def follow_github(url: str) -> str:
    """One step at GitHub (the stand-in): where it sends the browser."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def install(client: Client, github, *, forge: int | None = None):
    """Click "Install on GitHub" and follow GitHub's redirects; the last dashboard response."""
    github.setup_url = "http://127.0.0.1:8000/github/setup"
    github.install_repositories = ["octo/widgets"]
    github.forge_installation_id = forge
    started = client.post("/github/install")
    assert started.status_code == 302 and "/apps/orchestra-test/installations/new?state=" in started["Location"]
    setup = local(follow_github(started["Location"]))
    back = client.get(setup)
    if back.status_code != 302:
        return back, setup
    assert "/login/oauth/authorize" in back["Location"]
    return client.get(local(follow_github(back["Location"]))), setup


def test_installing_links_the_installation_after_github_confirms_it(alice_web, github, acme) -> None:
    github.add_repo("octo/widgets")
    response, _ = install(alice_web, github)
    assert response.status_code == 302 and response["Location"] == "/github/"
    connection = GitHubConnection.unscoped.get(organization=acme)
    assert connection.kind == "app" and connection.account_login == "octo" and connection.status == "active"
    assert Activity.unscoped.filter(organization=acme, type="github.connected").exists()
    page = alice_web.get("/github/").content.decode()
    assert "GitHub App installed on octo" in page and "Disconnect" in page
    # The user token was used, never kept.
    assert "ghu_" not in str(list(GitHubConnection.unscoped.values()))


def test_a_forged_installation_id_is_refused(alice_web, github, acme) -> None:
    someone_elses = github.add_installation("globex", [], members={"charlie"}, admins={"charlie"})
    response, _ = install(alice_web, github, forge=someone_elses.id)
    assert response.status_code == 403
    assert f"installation {someone_elses.id} is not among the installations" in response.content.decode()
    assert not GitHubConnection.unscoped.exists()


def test_an_installation_on_an_organization_needs_its_admin(alice_web, github, acme) -> None:
    shared = github.add_installation("bigcorp", [], members={"octo"}, admins={"someone-else"})
    response, _ = install(alice_web, github, forge=shared.id)
    assert (
        response.status_code == 403 and "not an admin of the GitHub organization bigcorp" in response.content.decode()
    )
    assert not GitHubConnection.unscoped.exists()


def test_a_state_is_single_use_and_bound_to_the_session(alice, alice_web, github, acme) -> None:
    github.setup_url = "http://127.0.0.1:8000/github/setup"
    started = alice_web.post("/github/install")
    setup = local(follow_github(started["Location"]))
    # Another session of the same person cannot use it...
    other = Client()
    other.force_login(alice)
    assert other.get(setup).status_code == 403
    # ...its own session can, once.
    assert alice_web.get(setup).status_code == 302
    replay = alice_web.get(setup)
    assert replay.status_code == 403 and "already used" in replay.content.decode()
    tampered = setup.replace("state=", "state=x")
    assert alice_web.get(tampered).status_code == 403
    assert not GitHubConnection.unscoped.exists()


def test_members_cannot_open_the_page(bob, acme, github) -> None:
    client = Client()
    client.force_login(bob)
    assert client.get("/github/").status_code == 403
    assert client.post("/github/install").status_code == 403


def test_without_an_app_the_page_explains_the_setup(alice_web, settings) -> None:
    settings.GITHUB_APP_ID = ""
    page = alice_web.get("/github/").content.decode()
    assert "GitHub is not set up on this server" in page and "/github/setup" in page and "/webhooks/github/" in page
    assert alice_web.post("/github/install").status_code == 302


def test_a_personal_access_token_is_stored_encrypted_and_used(alice_web, github, acme, call, alice_id) -> None:
    github.add_repo("octo/widgets", branches=("main", "feature"))
    github.commit("octo/widgets", "feature", {"x.py": "x"}, "x")
    token = github.issue_pat("octo", ["octo/widgets"])
    assert alice_web.post("/github/token", {"token": "not-a-token"}).status_code == 400
    response = alice_web.post("/github/token", {"token": token})
    assert response.status_code == 302
    connection = GitHubConnection.unscoped.get(organization=acme)
    assert connection.kind == "token" and token not in connection.token_encrypted
    assert decrypt(connection.token_encrypted) == token
    page = alice_web.get("/github/").content.decode()
    assert token not in page and f"…{token[-4:]}" in page and "authored by octo" in page
    project = ok(call(alice_id, "create_project", name="P"))["slug"]
    repo = ok(call(alice_id, "connect_repo", project=project, full_name="octo/widgets"))
    ok(call(alice_id, "create_pr", repository=repo["id"], title="T", head="feature"))
    assert github.repos["octo/widgets"].pulls[0].user == "octo"
    assert alice_web.post("/github/disconnect").status_code == 302
    assert not GitHubConnection.unscoped.exists()


def test_connectgithub_links_an_installation_checked_with_the_app(github, acme, globex) -> None:
    installation = github.add_installation("acme", [])
    out = io.StringIO()
    call_command("connectgithub", "--org", acme.slug, "--installation-id", str(installation.id), stdout=out)
    assert f"Linked installation {installation.id} (acme) to {acme.slug}" in out.getvalue()
    assert GitHubConnection.unscoped.get(organization=acme).installation_id == installation.id
    with pytest.raises(CommandError, match="already linked to another Orchestra organization"):
        call_command("connectgithub", "--org", globex.slug, "--installation-id", str(installation.id))
    with pytest.raises(CommandError, match="has no installation 999999"):
        call_command("connectgithub", "--org", globex.slug, "--installation-id", "999999")
    with pytest.raises(CommandError, match="no organization"):
        call_command("connectgithub", "--org", "nope", "--installation-id", str(installation.id))


def test_the_state_names_this_person_and_organization(alice_web, github) -> None:
    started = alice_web.post("/github/install")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    from django.core import signing

    payload = signing.loads(state, salt="orchestra.github.install")
    assert set(payload) == {"n", "s", "u", "o"}
