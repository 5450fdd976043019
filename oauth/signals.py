"""A revoked grant (its MCPToken revoked, by the Tokens page, the admin, a command or
a refresh token replay) takes its toolkit tokens with it. Streams close through
accounts.signals, as for any token."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import MCPToken, TokenKind


@receiver(post_save, sender=MCPToken)
def _grant_saved(sender: type[MCPToken], instance: MCPToken, **kwargs: Any) -> None:
    if instance.kind == TokenKind.OAUTH and (instance.revoked_at is not None or instance.is_expired):
        from oauth.validators import grant_tokens_revoke

        grant_tokens_revoke(instance)
