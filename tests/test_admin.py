"""The operators' admin: every model listed, digests never shown, revoke and suspend."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.auth import AuthenticationFailed, authenticate_token
from accounts.models import MCPToken, User
from orchestra.tenancy import tenant_scope
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
