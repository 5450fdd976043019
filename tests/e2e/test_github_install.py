"""Installing the GitHub App in a real browser: the dashboard's install link, GitHub
(the stand-in) sending the person back to the setup URL, the App's OAuth confirming
the installation is theirs. A forged installation id is refused."""

from __future__ import annotations

from githubint.models import GitHubConnection
from tests.e2e.conftest import screenshot
from tests.e2e.test_dashboard_pages import sign_in


def test_install_the_app_from_the_dashboard(github_server, github, page, browser, alice, acme, transactional_db):
    github.setup_url = f"{github_server.url}/github/setup"
    github.add_repo("octo/widgets")
    github.install_repositories = ["octo/widgets"]
    sign_in(page, github_server, alice)
    page.goto(f"{github_server.url}/github/")
    screenshot(page, "github-before-install")
    page.click("#install-github")
    page.wait_for_selector(".message")
    assert page.locator(".message").inner_text() == "GitHub connected: the App is installed on octo."
    assert page.get_by_text("GitHub connected: the App is installed on octo.").is_visible()
    assert page.get_by_text("GitHub App installed on octo").is_visible()
    screenshot(page, "github-installed")
    connection = GitHubConnection.unscoped.get(organization=acme)
    assert connection.account_login == "octo" and connection.status == "active"
    # The flow went through GitHub's OAuth and its installation list for the person.
    assert "POST /login/oauth/access_token" in github.requests and "GET /api/v3/user/installations" in github.requests


def test_a_forged_installation_id_is_refused_in_the_browser(
    github_server, github, browser, alice, acme, transactional_db
) -> None:
    someone_elses = github.add_installation("globex", [], members={"charlie"}, admins={"charlie"})
    github.setup_url = f"{github_server.url}/github/setup"
    github.forge_installation_id = someone_elses.id
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in(page, github_server, alice)
        page.goto(f"{github_server.url}/github/")
        page.click("#install-github")
        page.wait_for_selector(".message.error")
        text = page.locator(".message.error").inner_text()
        assert f"installation {someone_elses.id} is not among the installations" in text
        screenshot(page, "github-forged-installation")
    finally:
        context.close()
    assert not GitHubConnection.unscoped.exists()
