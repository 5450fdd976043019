"""Session tools. For now: get_context, the first call an agent makes."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from tools.mcp.registry import ToolContext, tool
from tools.projects.models import Project


class ContextOut(TypedDict):
    organization: dict[str, Any]
    user: dict[str, Any]
    token: dict[str, Any]
    plan: dict[str, Any]
    usage: dict[str, Any]


@tool(category="sessions", read_only=True, idempotent=True)
def get_context(ctx: ToolContext) -> ContextOut:
    """Who is calling: organization, user, token mode and scopes, plan limits and usage. Call it first."""
    identity = ctx.identity
    org = identity.organization
    restricted = None
    if identity.project_id is not None:
        project = Project.objects.filter(pk=identity.project_id).values("id", "slug", "name").first()
        restricted = {k: str(v) for k, v in project.items()} if project else None
    return ContextOut(
        organization={
            "id": str(org.pk),
            "name": org.name,
            "slug": org.slug,
            "sandbox": org.is_sandbox,
            "live_organization_id": str(identity.live_organization.pk),
        },
        user={"id": str(identity.user_id), "email": identity.user_email, "role": identity.role},
        token={
            "id": str(identity.token_id),
            "mode": identity.mode,
            "scopes": list(identity.scopes),
            "read_only": not identity.can_write,
            "project": restricted,
        },
        # Billing is not built yet: no plan limits apply.
        plan={
            "name": "unlimited",
            "limits": {"projects": "unlimited", "memories": "unlimited", "members": "unlimited"},
        },
        usage={"projects": Project.objects.filter(status="active").count()},
    )
