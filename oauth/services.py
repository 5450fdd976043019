"""Writes of the oauth app that are not the toolkit's."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import get_application_model

from accounts.models import MCPToken, TokenKind
from oauth.models import Grant


def spent_codes_delete() -> int:
    """Delete authorization codes a day past their expiry (kept until then so that a
    code presented again is recognised as reused). Returns how many."""
    deleted, _ = Grant.objects.filter(expires__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted


def unused_clients_delete() -> int:
    """Delete dynamically registered clients older than OAUTH_UNUSED_CLIENT_DAYS that no
    consent ever used (registration is open to anyone: these would pile up). A client
    with a grant, live or revoked, is kept: the Tokens page names it. Returns how many."""
    Application = get_application_model()
    cutoff = timezone.now() - timedelta(days=settings.OAUTH_UNUSED_CLIENT_DAYS)
    used = MCPToken.objects.filter(kind=TokenKind.OAUTH).values("oauth_client_id")
    stale = Application.objects.filter(created__lt=cutoff, registration_source__in=["dcr", "cimd"]).exclude(
        client_id__in=used
    )
    deleted, _ = stale.delete()
    return deleted
