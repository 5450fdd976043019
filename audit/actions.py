"""The named actions of the audit trail. One value per kind of administrative act;
the dashboard filters by them, exports carry them, so a value is never renamed."""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    SIGNED_IN = "member.signed_in", "signed in"
    INVITATION_SENT = "invitation.sent", "invitation sent"
    INVITATION_ACCEPTED = "invitation.accepted", "invitation accepted"
    INVITATION_WITHDRAWN = "invitation.withdrawn", "invitation withdrawn"
    ROLE_CHANGED = "member.role_changed", "role changed"
    MEMBER_REMOVED = "member.removed", "member removed"
    MEMBER_LEFT = "member.left", "member left"
    TOKEN_CREATED = "token.created", "token created"
    TOKEN_REVOKED = "token.revoked", "token revoked"
    GRANT_CREATED = "grant.created", "OAuth grant created"
    GRANT_REVOKED = "grant.revoked", "OAuth grant revoked"
    PLAN_GRANTED = "billing.plan_granted", "plan granted by an operator"
    CHECKOUT_STARTED = "billing.checkout_started", "checkout started"
    SUBSCRIPTION_CHANGED = "billing.subscription_changed", "subscription changed"
    GITHUB_CONNECTED = "github.connected", "GitHub connected"
    GITHUB_DISCONNECTED = "github.disconnected", "GitHub disconnected"
    ORGANIZATION_DELETED = "organization.deleted", "organization deleted"
    ACCOUNT_DELETED = "account.deleted", "member's account deleted"
    # Written by export and import (issue 18's other half) through audit.services.record.
    DATA_EXPORTED = "data.exported", "data exported"
    DATA_IMPORTED = "data.imported", "data imported"
