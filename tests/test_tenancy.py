from __future__ import annotations

import pytest

from orchestra.tenancy import TenantScopeError, current_organization_id, tenant_scope
from tools.projects.models import Project


def test_default_manager_fails_closed_without_an_organization(acme) -> None:
    with pytest.raises(TenantScopeError):
        list(Project.objects.all())
    with pytest.raises(TenantScopeError):
        current_organization_id()


def test_default_manager_sees_only_the_organization_in_scope(acme, globex) -> None:
    Project.unscoped.create(organization=acme, name="A", slug="a")
    Project.unscoped.create(organization=globex, name="G", slug="g")
    with tenant_scope(acme):
        assert [p.slug for p in Project.objects.all()] == ["a"]
    with tenant_scope(globex):
        assert [p.slug for p in Project.objects.all()] == ["g"]
        assert not Project.objects.filter(slug="a").exists()
    assert Project.unscoped.count() == 2


def test_scopes_nest_and_restore(acme, globex) -> None:
    with tenant_scope(acme):
        with tenant_scope(globex):
            assert current_organization_id() == globex.pk
        assert current_organization_id() == acme.pk


def test_sandbox_is_a_separate_tenant(acme) -> None:
    Project.unscoped.create(organization=acme, name="Live", slug="live")
    with tenant_scope(acme.sandbox):
        assert not Project.objects.exists()
