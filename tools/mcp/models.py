from __future__ import annotations

from django.db import models
from django.utils import timezone


class McpSession(models.Model):
    """A Streamable HTTP transport session (`Mcp-Session-Id`), kept in the database so
    any server process can continue it. Bound to the token that opened it."""

    # The id is the session id sent to clients: random, unguessable, not a row counter.
    id = models.CharField(primary_key=True, max_length=64, editable=False)
    token = models.ForeignKey("accounts.MCPToken", on_delete=models.CASCADE, related_name="mcp_sessions")
    protocol_version = models.CharField(max_length=20, blank=True)  # empty until initialize
    # "streamable-http", or "sse" for the legacy transport, whose stream listens on
    # `channel_name` (a channel-layer name: any process can send to it).
    transport = models.CharField(max_length=20, default="streamable-http")
    channel_name = models.CharField(max_length=200, blank=True)
    client_info = models.JSONField(default=dict, blank=True)
    client_capabilities = models.JSONField(default=dict, blank=True)
    initialized = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "MCP session"
        indexes = [models.Index(fields=["last_seen_at"], name="mcpsession_last_seen")]

    def __str__(self) -> str:
        return self.id


class IdempotentCall(models.Model):
    """The first answer of a create tool called with an `idempotency_key`, kept 24 hours:
    the same key with the same arguments answers it again instead of creating a second
    row. Keys belong to an organization and, for a project-restricted token, to its
    project (`scope`), so a key never reveals an answer outside what the caller could
    read. Bookkeeping of the tool layer, read only through tools.mcp.idempotency (never
    through a tool), so not a TenantModel: every lookup names its organization."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=36, blank=True)  # the token's project restriction, "" for none
    key = models.CharField(max_length=200)
    tool = models.CharField(max_length=100)
    arguments_digest = models.CharField(max_length=64)
    answer = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "scope", "key"], name="idempotentcall_unique_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotentcall_created")]

    def __str__(self) -> str:
        return f"{self.tool} {self.key}"
