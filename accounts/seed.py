"""Default data for a fresh installation: a demo organization with a demo token.

Idempotent: running it again changes nothing and issues no second token.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import MCPToken, Organization, User
from accounts.services import IssuedToken, organization_create, token_create

DEMO_EMAIL = "demo@orchestra.local"
DEMO_ORG_SLUG = "demo"
DEMO_TOKEN_NAME = "Demo token"  # noqa: S105  (a label, not a secret)


@dataclass(frozen=True)
class SeedResult:
    organization: Organization
    created_organization: bool
    issued: IssuedToken | None  # a new token, shown once; None when one already existed
    existing_token: MCPToken | None


@transaction.atomic
def seed() -> SeedResult:
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        user = User.objects.create_user(DEMO_EMAIL, name="Demo")
    org = Organization.objects.filter(slug=DEMO_ORG_SLUG, is_sandbox=False).first()
    created = org is None
    if org is None:
        org = organization_create(name="Demo", owner=user, slug=DEMO_ORG_SLUG)
    existing = MCPToken.objects.filter(organization=org, name=DEMO_TOKEN_NAME, revoked_at__isnull=True).first()
    if existing is not None:
        return SeedResult(org, created, None, existing)
    issued = token_create(organization=org, user=user, name=DEMO_TOKEN_NAME)
    return SeedResult(org, created, issued, None)
