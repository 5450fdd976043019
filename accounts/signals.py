"""Whenever a token stops being usable, open streams using it must close: these
receivers send `access_lost`, whatever made the change (a service, the admin, a
management command, another server). The MCP app listens and tells every process
over its control bus; identity never imports the transports."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from accounts.auth import forget
from accounts.models import MCPToken, Membership, Organization, User

# Sent with any of token=, user=, organization= (the fields every closed stream matches).
access_lost = Signal()


def _lost(**fields: Any) -> None:
    forget(**fields)  # this process, at once
    access_lost.send(sender=None, **fields)  # the listeners tell every process, at commit


@receiver(post_save, sender=MCPToken)
def _token_saved(sender: type[MCPToken], instance: MCPToken, **kwargs: Any) -> None:
    # An expiry moved into the past (the admin) ends its streams now, like a revocation.
    if instance.revoked_at is not None or instance.is_expired:
        _lost(token=instance.pk)


@receiver(post_save, sender=Organization)
def _organization_saved(sender: type[Organization], instance: Organization, **kwargs: Any) -> None:
    if instance.suspended_at is not None:
        _lost(organization=instance.live_organization_id or instance.pk)


@receiver(post_save, sender=User)
def _user_saved(sender: type[User], instance: User, **kwargs: Any) -> None:
    if not instance.is_active:
        _lost(user=instance.pk)


@receiver(post_delete, sender=Membership)
def _membership_deleted(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    _lost(user=instance.user_id, organization=instance.organization_id)
