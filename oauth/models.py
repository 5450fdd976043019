"""The toolkit's grant, access token and refresh token, swapped in (settings'
OAUTH2_PROVIDER_*_MODEL) so that each belongs to one MCPToken of kind oauth and the
database never holds a usable credential:

- access and refresh tokens keep only their SHA-256 (the toolkit's hashed-at-rest
  storage, COMPLIANT_BCP_RFC9700_TOKEN_STORAGE: the `token` column stays empty);
- an authorization code is stored as its SHA-256 too: `DigestField` hashes the value
  on the way in, for writes and for lookups alike, so the toolkit's own
  `Grant.objects.get(code=code)` keeps working unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from oauth2_provider.models import AbstractAccessToken, AbstractGrant, AbstractRefreshToken


class DigestField(models.CharField):
    """Stores (and compares) the SHA-256 hex digest of the value it is given."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


def resource_is_ours(resource: Any) -> bool:
    """An access token is for this server only when its RFC 8707 resource is exactly
    this server's /mcp (a token for another resource, or for none, is refused)."""
    return isinstance(resource, list) and resource == [settings.OAUTH_RESOURCE]


class Grant(AbstractGrant):
    code = DigestField(max_length=64, unique=True, verbose_name="code digest")
    # The consent that made this code: the MCPToken created then (organization, mode,
    # scopes, project). Exchanging the code gives tokens acting as it.
    mcp_token = models.ForeignKey("accounts.MCPToken", on_delete=models.CASCADE, related_name="oauth_grants")
    # Set when the code is exchanged (instead of deleting the row, as the toolkit does):
    # a code presented again is then recognised, and the grant it made is revoked
    # (RFC 6749 section 4.1.2). Rows are deleted a day after they expire (oauth.tasks).
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"
        verbose_name = "OAuth authorization code"


class AccessToken(AbstractAccessToken):
    # Null only for the registration access tokens dynamic registration hands out
    # (RFC 7592; Orchestra routes no management endpoint, so they open nothing):
    # such a token is never a bearer for /mcp (accounts.auth asks for a grant).
    mcp_token = models.ForeignKey(
        "accounts.MCPToken", null=True, on_delete=models.CASCADE, related_name="oauth_access_tokens"
    )

    class Meta(AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"
        verbose_name = "OAuth access token"


class RefreshToken(AbstractRefreshToken):
    mcp_token = models.ForeignKey("accounts.MCPToken", on_delete=models.CASCADE, related_name="oauth_refresh_tokens")

    class Meta(AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"
        verbose_name = "OAuth refresh token"
