"""Rows addressed by a slug unique in their organization (projects, agents, specs,
features): one way to create them."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Q

from orchestra.db import advisory_xact_lock
from orchestra.ids import unique_slug
from orchestra.tenancy import TenantModel, current_organization_id

T = TypeVar("T", bound=TenantModel)


def create_with_unique_slug(model: type[T], /, *, slug_from: str, live: Q | None = None, **fields: Any) -> T:
    """Create a `model` row in the organization in scope, its slug derived from `slug_from`.

    Slug choice is serialised per organization and model, so two concurrent creates of
    the same name get -2 rather than one of them failing on the unique constraint. A
    slug is taken if any row of the organization has it (the rows matching `live`,
    where deleted rows free their slug), whatever project the caller is confined to:
    uniqueness is the organization's, so the check looks past the project scope."""
    org_id = current_organization_id()
    advisory_xact_lock(f"{model._meta.label}-slug:{org_id}")
    rows = model.unscoped.filter(organization_id=org_id)
    if live is not None:
        rows = rows.filter(live)
    slug = unique_slug(slug_from, lambda s: rows.filter(slug=s).exists())
    return model.objects.create(organization_id=org_id, slug=slug, **fields)
