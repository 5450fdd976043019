"""Tenancy: which organization the current request or task acts in.

The organization comes from the MCP token (MCP, REST) or the dashboard session, and
is held in a context variable for the duration of the request or task. Every
tenant-owned model's default manager (`objects`) filters by it and raises when none
is in scope, so a forgotten filter fails closed instead of leaking another
organization's rows. Code that must look across organizations (admin, migrations,
periodic tasks, token authentication) says so by using the `unscoped` manager.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import models

if TYPE_CHECKING:
    from accounts.models import Organization

_current_org_id: ContextVar[Any] = ContextVar("orchestra_organization_id", default=None)

M = TypeVar("M", bound=models.Model)


class TenantScopeError(RuntimeError):
    """A tenant-owned model was queried with no organization in scope."""


def current_organization_id() -> Any:
    """The id of the organization in scope; raises TenantScopeError if there is none."""
    org_id = _current_org_id.get()
    if org_id is None:
        raise TenantScopeError(
            "No organization in scope: wrap the code in tenant_scope(org) "
            "or use the model's `unscoped` manager on purpose."
        )
    return org_id


@contextlib.contextmanager
def tenant_scope(organization: Organization | Any) -> Iterator[None]:
    """Run the block inside `organization` (an Organization or its id)."""
    org_id = getattr(organization, "pk", organization)
    if org_id is None:
        raise TenantScopeError("tenant_scope needs an organization")
    token = _current_org_id.set(org_id)
    try:
        yield
    finally:
        _current_org_id.reset(token)


class TenantManager(models.Manager[M], Generic[M]):
    """Default manager of tenant-owned models: only the organization in scope."""

    def get_queryset(self) -> models.QuerySet[M]:
        return super().get_queryset().filter(organization_id=current_organization_id())


class TenantModel(models.Model):
    """Base for rows that belong to one organization."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=True)

    objects: TenantManager[Any] = TenantManager()
    unscoped: models.Manager[Any] = models.Manager()

    class Meta:
        abstract = True
        # Related-object access and deletion cascades go through the base manager:
        # they follow foreign keys from rows that were already scoped.
        base_manager_name = "unscoped"
