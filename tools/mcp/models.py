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
