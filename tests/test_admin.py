"""The operators' admin: every model listed, digests never shown, revoke and suspend."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.auth import AuthenticationFailed, authenticate_token
from accounts.models import MCPToken, User
from orchestra.tenancy import tenant_scope
from tests.tools.world import our_app_labels
from tools.projects.models import Project


@pytest.fixture
def operator(db) -> Client:
    user = User.objects.create_superuser("ops@example.com", "pw-ops-123456")
    client = Client()
    client.force_login(user)
    return client


def test_every_model_has_a_working_changelist(operator, alice_token, acme) -> None:
    with tenant_scope(acme):
        Project.objects.create(organization=acme, name="P", slug="p")
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = operator.get(url)
        assert response.status_code == 200, (url, response.status_code)


def test_token_pages_never_show_the_digest(operator, alice_token) -> None:
    token = MCPToken.objects.get()
    pages = [
        operator.get(reverse("admin:accounts_mcptoken_changelist")).content.decode(),
        operator.get(reverse("admin:accounts_mcptoken_change", args=[token.pk])).content.decode(),
    ]
    for page in pages:
        assert token.digest not in page and alice_token not in page
        assert f"orch_live_…{token.last_four}" in page


def test_revoke_action_stops_the_token(operator, alice_token) -> None:
    token = MCPToken.objects.get()
    response = operator.post(
        reverse("admin:accounts_mcptoken_changelist"), {"action": "revoke", "_selected_action": [str(token.pk)]}
    )
    assert response.status_code == 302
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate_token(alice_token)


def test_suspend_action_stops_every_token_of_the_organization(operator, acme, alice_token) -> None:
    operator.post(
        reverse("admin:accounts_organization_changelist"), {"action": "suspend", "_selected_action": [str(acme.pk)]}
    )
    with pytest.raises(AuthenticationFailed, match="suspended"):
        authenticate_token(alice_token)
    operator.post(
        reverse("admin:accounts_organization_changelist"), {"action": "unsuspend", "_selected_action": [str(acme.pk)]}
    )
    assert authenticate_token(alice_token).organization == acme


def test_tenant_rows_can_be_edited_in_their_organization(operator, acme) -> None:
    project = Project.unscoped.create(organization=acme, name="P", slug="p")
    url = reverse("admin:projects_project_change", args=[project.pk])
    assert operator.get(url).status_code == 200
    response = operator.post(
        url, {"name": "Renamed", "slug": "p", "description": "", "settings": "{}", "status": "active"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Project.unscoped.get().name == "Renamed"


def test_non_staff_cannot_open_the_admin(alice, db) -> None:
    client = Client()
    client.force_login(alice)
    assert client.get(reverse("admin:accounts_mcptoken_changelist")).status_code == 302


def test_every_model_of_our_apps_is_registered_with_search_and_filters() -> None:
    from django.apps import apps

    for model in apps.get_models():
        if model._meta.app_label not in our_app_labels():
            continue
        assert model in admin.site._registry, f"{model._meta.label} is not in the admin"
        model_admin = admin.site._registry[model]
        assert model_admin.search_fields, f"{model._meta.label} has no search"
        assert model_admin.list_filter, f"{model._meta.label} has no filters"
        assert len(model_admin.list_display) >= 3, f"{model._meta.label} lists too few columns"


def test_every_changelist_searches_and_filters_over_real_rows(operator, alice_id, charlie_id, acme) -> None:
    from tests.dashboard.dashboard_world import build

    build(alice_id, hostile="<b>bold</b>")
    build(charlie_id, "Zeus")
    for model in admin.site._registry:
        if model._meta.app_label not in our_app_labels():
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert operator.get(url, {"q": "apollo"}).status_code == 200, url
        # Each filter's first choice (after "All") answers too.
        page = operator.get(url)
        spec = page.context["cl"].filter_specs
        for filter_spec in spec:
            choices = list(filter_spec.choices(page.context["cl"]))
            if len(choices) > 1:
                link = choices[1]["query_string"]
                assert operator.get(url + link).status_code == 200, (url, link)


def test_vectors_and_search_vectors_are_never_shown(operator, alice_id, acme) -> None:
    from memory.models import Memory
    from memory.tasks import embed_now
    from tests.dashboard.dashboard_world import build
    from tools.decisions.models import Decision

    world = build(alice_id)
    embed_now([world["memory"]["id"]])
    memory = Memory.unscoped.get(pk=world["memory"]["id"])
    assert memory.embedding is not None
    decision = Decision.unscoped.get(pk=world["decision"]["id"])
    for url in (
        reverse("admin:memory_memory_change", args=[memory.pk]),
        reverse("admin:memory_memory_changelist"),
        reverse("admin:decisions_decision_change", args=[decision.pk]),
        reverse("admin:notes_note_change", args=[world["note"]["id"]]),
    ):
        page = operator.get(url).content.decode()
        assert 'name="embedding"' not in page and 'name="search_vector"' not in page, url
        assert "search_vector" not in page and "'apollo'" not in page, url  # a tsvector reads 'word':1
    first = f"{memory.embedding[0]:.6f}"[:7]
    assert first not in operator.get(reverse("admin:memory_memory_change", args=[memory.pk])).content.decode()


def test_invitations_are_listed_without_digest_and_can_be_revoked(operator, alice, acme) -> None:
    from accounts.invitations import invitation_create
    from accounts.models import Invitation

    issued = invitation_create(organization=acme, email="new@example.com", role="member", invited_by=alice)
    invitation = Invitation.objects.get()
    secret = issued.url.rstrip("/").rsplit("/", 1)[-1]
    changelist = reverse("admin:accounts_invitation_changelist")
    for url in (changelist, reverse("admin:accounts_invitation_change", args=[invitation.pk])):
        page = operator.get(url).content.decode()
        assert "new@example.com" in page and invitation.digest not in page and secret not in page
    response = operator.post(changelist, {"action": "revoke", "_selected_action": [str(invitation.pk)]})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
