"""The tokens page: who sees and revokes which tokens, creation shown once."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from accounts import tokens as token_format
from accounts.auth import AuthenticationFailed, authenticate_token
from accounts.models import MCPToken, Scope
from accounts.services import token_create
from orchestra.tenancy import tenant_scope
from tests.dashboard.people_world import text
from tools.projects.models import Project

pytest_plugins = ["tests.people_fixtures"]
pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"orch_(?:live|test)_[0-9A-Za-z]{38}")


@pytest.fixture
def tokens_of(team, alice, bob, vera):
    return {
        "alice": token_create(organization=team, user=alice, name="alice laptop").token,
        "bob": token_create(organization=team, user=bob, name="bob laptop").token,
        "vera": token_create(organization=team, user=vera, name="vera laptop").token,
    }


def test_anonymous_visitors_are_sent_to_login() -> None:
    for url in ("/tokens/", "/connect/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_owners_and_admins_see_every_token_members_their_own(tokens_of, as_owner, as_admin, as_member, as_viewer):
    for client in (as_owner, as_admin):
        page = text(client.get("/tokens/"))
        assert all(f"{name} laptop" in page for name in ("alice", "bob", "vera"))
    member_page = text(as_member.get("/tokens/"))
    assert "bob laptop" in member_page and "alice laptop" not in member_page and "vera laptop" not in member_page
    viewer_page = text(as_viewer.get("/tokens/"))
    assert "vera laptop" in viewer_page and "bob laptop" not in viewer_page


def test_the_list_shows_masked_tokens_with_their_properties(team, alice, as_owner) -> None:
    with tenant_scope(team):
        project = Project.objects.create(organization=team, name="Apollo", slug="apollo")
    issued = token_create(
        organization=team,
        user=alice,
        name="ci",
        mode="test",
        scopes=[Scope.READ],
        expires_at=timezone.now() + timezone.timedelta(days=30),
    )
    restricted = token_create(organization=team, user=alice, name="apollo only", project_id=project.pk)
    page = text(as_owner.get("/tokens/"))
    assert issued.raw not in page and restricted.raw not in page
    assert f"orch_test_…{issued.raw[-4:]}" in page and f"orch_live_…{restricted.raw[-4:]}" in page
    assert 'class="badge test"' in page and 'class="badge live"' in page
    assert "read-only" in page and "Apollo" in page and issued.token.expires_at.strftime("%Y-%m-%d") in page


def test_creating_a_token_shows_it_once_with_mcp_json(team, alice, as_owner, settings) -> None:
    response = as_owner.post("/tokens/", {"name": "laptop", "mode": "live"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = unescape(text(response))
    raws = set(TOKEN_RE.findall(page))
    assert len(raws) == 1
    raw = raws.pop()
    token = MCPToken.objects.get(name="laptop")
    assert token.digest == token_format.digest(raw) and token.user == alice and token.scopes == ["read", "write"]
    assert f'"url": "{settings.APP_URL}/mcp"' in page and f'"url": "{settings.APP_URL}/mcp/sse"' in page
    assert f"Bearer {raw}" in page and "claude mcp add" in page and "data-copy" in page
    assert authenticate_token(raw).organization == team
    # Never again: the list shows only the last four characters.
    assert raw not in text(as_owner.get("/tokens/"))


def test_create_with_read_only_project_and_expiry(team, as_member, bob) -> None:
    with tenant_scope(team):
        project = Project.objects.create(organization=team, name="Apollo", slug="apollo")
    response = as_member.post(
        "/tokens/",
        {"name": "scoped", "mode": "live", "read_only": "on", "project": str(project.pk), "expires_in_days": "7"},
    )
    assert response.status_code == 200
    token = MCPToken.objects.get(name="scoped")
    assert token.scopes == ["read"] and token.project_id == project.pk and token.user == bob
    assert 6.9 < (token.expires_at - timezone.now()).total_seconds() / 86400 <= 7


def test_test_tokens_take_sandbox_projects_only(team, as_owner) -> None:
    with tenant_scope(team):
        live = Project.objects.create(organization=team, name="Live one", slug="live-one")
    with tenant_scope(team.sandbox):
        sandboxed = Project.objects.create(organization=team.sandbox, name="Trial", slug="trial")
    page = text(as_owner.get("/tokens/"))
    assert "Trial (sandbox)" in page and "Live one" in page
    refused = as_owner.post("/tokens/", {"name": "x", "mode": "test", "project": str(live.pk)})
    assert refused.status_code == 400 and "sandbox project" in text(refused)
    refused = as_owner.post("/tokens/", {"name": "y", "mode": "live", "project": str(sandboxed.pk)})
    assert refused.status_code == 400 and "live project" in text(refused)
    assert not MCPToken.objects.exists()
    assert as_owner.post("/tokens/", {"name": "z", "mode": "test", "project": str(sandboxed.pk)}).status_code == 200
    assert MCPToken.objects.get().project_id == sandboxed.pk


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "mode": "live"}, "This field is required"),
        ({"name": "x", "mode": "prod"}, "Select a valid choice"),
        ({"name": "x", "mode": "live", "expires_in_days": "0"}, "greater than or equal to 1"),
        ({"name": "x", "mode": "live", "project": "not-a-project"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(as_owner, data, message) -> None:
    response = as_owner.post("/tokens/", data)
    assert response.status_code == 400 and message in text(response)
    assert not MCPToken.objects.exists()


def test_foreign_projects_are_not_offered_and_refused(team, globex, as_owner) -> None:
    with tenant_scope(globex):
        foreign = Project.objects.create(organization=globex, name="Secret", slug="secret")
    assert "Secret" not in text(as_owner.get("/tokens/"))
    response = as_owner.post("/tokens/", {"name": "x", "mode": "live", "project": str(foreign.pk)})
    assert response.status_code == 400 and not MCPToken.objects.exists()


def test_viewers_get_read_only_tokens_and_the_form_says_so(as_viewer, vera) -> None:
    page = text(as_viewer.get("/tokens/"))
    assert "As a viewer, your tokens are always read-only." in page
    assert as_viewer.post("/tokens/", {"name": "try write", "mode": "live"}).status_code == 200
    assert MCPToken.objects.get(name="try write").scopes == ["read"]


def test_revoking_asks_first_then_revokes(tokens_of, as_member) -> None:
    token = tokens_of["bob"]
    confirm = as_member.get(f"/tokens/{token.pk}/revoke")
    assert confirm.status_code == 200 and "cannot be undone" in text(confirm)
    token.refresh_from_db()
    assert token.revoked_at is None  # a GET changes nothing
    response = as_member.post(f"/tokens/{token.pk}/revoke")
    assert response.status_code == 302 and response["Location"] == "/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in text(as_member.get("/tokens/"))


def test_members_cannot_touch_other_tokens_managers_can(tokens_of, as_member, as_viewer, as_admin) -> None:
    alice_token = tokens_of["alice"]
    assert as_member.get(f"/tokens/{alice_token.pk}/revoke").status_code == 404
    assert as_member.post(f"/tokens/{alice_token.pk}/revoke").status_code == 404
    assert as_viewer.post(f"/tokens/{tokens_of['bob'].pk}/revoke").status_code == 404
    alice_token.refresh_from_db()
    assert alice_token.revoked_at is None
    assert as_admin.post(f"/tokens/{alice_token.pk}/revoke").status_code == 302
    alice_token.refresh_from_db()
    assert alice_token.revoked_at is not None


def test_another_organizations_tokens_answer_404(tokens_of, as_outsider) -> None:
    for token in tokens_of.values():
        assert as_outsider.get(f"/tokens/{token.pk}/revoke").status_code == 404
        assert as_outsider.post(f"/tokens/{token.pk}/revoke").status_code == 404
    assert "alice laptop" not in text(as_outsider.get("/tokens/"))
    assert not MCPToken.objects.filter(revoked_at__isnull=False).exists()


def test_a_revoked_token_stops_working(team, alice, as_owner) -> None:
    issued = token_create(organization=team, user=alice, name="soon gone")
    as_owner.post(f"/tokens/{issued.token.pk}/revoke")
    with pytest.raises(AuthenticationFailed):
        authenticate_token(issued.raw)


def test_connect_page_has_urls_snippets_and_toolsets(as_member, settings) -> None:
    page = unescape(text(as_member.get("/connect/")))
    assert f"{settings.APP_URL}/mcp" in page and f"{settings.APP_URL}/mcp/sse" in page
    assert "Bearer YOUR_TOKEN" in page and '"type": "http"' in page and '"type": "sse"' in page
    assert "claude mcp add --transport http orchestra" in page
    assert "?toolsets=" in page and 'href="/tokens/"' in page
    assert TOKEN_RE.search(page) is None


def test_last_use_is_shown_in_words(tokens_of, as_owner) -> None:
    MCPToken.objects.filter(pk=tokens_of["bob"].pk).update(last_used_at=timezone.now())
    MCPToken.objects.filter(pk=tokens_of["vera"].pk).update(last_used_at=timezone.now() - timezone.timedelta(hours=3))
    page = text(as_owner.get("/tokens/"))
    assert "just now" in page and "3\xa0hours ago" in page and "never" in page
