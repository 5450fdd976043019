"""The toolkit's request validator, told what Orchestra adds: every code and token
belongs to the MCPToken made at consent, tokens carry orch_oat_ / orch_ort_ prefixes,
only S256 and this server's /mcp resource are accepted, and a refresh token presented
again (a stolen copy, or a replay) revokes the whole grant."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from accounts import tokens
from accounts.auth import AuthenticationFailed, reauthenticate
from accounts.models import MCPToken
from accounts.services import token_revoke
from oauth.models import AccessToken, Grant, RefreshToken, resource_is_ours

logger = logging.getLogger(__name__)


def access_token_generator(request: Any) -> str:
    """oauthlib's token generator for access tokens (ACCESS_TOKEN_GENERATOR)."""
    return tokens.generate("oauth_access")


def refresh_token_generator(request: Any) -> str:
    """oauthlib's token generator for refresh tokens (REFRESH_TOKEN_GENERATOR)."""
    return tokens.generate("oauth_refresh")


class InvalidTarget(errors.OAuth2Error):
    """RFC 8707's error for a resource this server does not serve."""

    error = "invalid_target"
    status_code = 400


def _require_our_resource(request: Any) -> None:
    if not resource_is_ours(getattr(request, "resource", None)):
        raise InvalidTarget(description=f"resource must be {settings.OAUTH_RESOURCE}", request=request)


def _grant_usable(mcp_token_id: uuid.UUID | None) -> bool:
    """The grant still stands: not revoked, its person still an active member, ..."""
    if mcp_token_id is None:
        return False
    try:
        reauthenticate(mcp_token_id)
    except AuthenticationFailed as exc:
        logger.info("OAuth grant refused at the token endpoint: %s", exc)
        return False
    return True


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class OrchestraOAuth2Validator(OAuth2Validator):
    def validate_redirect_uri(self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        """Registered, and https unless it is a loopback address (RFC 8252, RFC 9700):
        plain http elsewhere would hand the code to anyone on the path."""
        parts = urlsplit(redirect_uri or "")
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            return False
        return bool(super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs))

    def _create_authorization_code(self, request: Any, code: dict[str, str], expires: Any = None) -> Grant:
        # The consent page made the MCPToken and passed its id in the credentials.
        mcp_token_id = getattr(request, "mcp_token_id", None)
        if mcp_token_id is None:
            raise errors.AccessDeniedError(request=request)
        if request.code_challenge_method != "S256":
            raise errors.InvalidRequestError(description="code_challenge_method must be S256", request=request)
        _require_our_resource(request)
        return Grant.objects.create(
            application=request.client,
            user=request.user,
            code=code["code"],  # stored as its digest (oauth.models.DigestField)
            expires=expires or timezone.now() + timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS),
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method,
            nonce=request.nonce or "",
            claims=json.dumps(request.claims or {}),
            resource=request.resource,
            mcp_token_id=mcp_token_id,
        )

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        grant = Grant.objects.filter(code=code, application=client).select_related("mcp_token").first()
        if grant is None:
            return False
        if grant.used_at is not None:
            # A code comes back after it was exchanged: someone else may hold it. The
            # grant it made is revoked, with every token issued from it.
            logger.warning("a used OAuth authorization code was presented again; its grant is revoked")
            token_revoke(token=grant.mcp_token, by_label="OAuth: authorization code reused")
            return False
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        request.mcp_token_id = grant.mcp_token_id
        return _grant_usable(request.mcp_token_id)

    def invalidate_authorization_code(self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any) -> None:
        # Marked used, not deleted (the toolkit's way): see Grant.used_at. Only one of
        # two concurrent exchanges marks it; the other is refused.
        if not Grant.objects.filter(code=code, application=request.client, used_at__isnull=True).update(
            used_at=timezone.now()
        ):
            raise errors.InvalidGrantError(request=request)

    def validate_refresh_token(self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        parsed = tokens.parse(refresh_token or "")
        if parsed is None or parsed.mode != "oauth_refresh":
            return False  # malformed: refused before any lookup
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            # A refresh token that was already used (or revoked) and comes again: the
            # toolkit revoked its family; the grant goes too, with its streams.
            spent = (
                RefreshToken.objects.filter(token_checksum=parsed.digest, revoked__isnull=False)
                .select_related("mcp_token")
                .first()
            )
            if spent is not None and spent.mcp_token.revoked_at is None:
                logger.warning("a spent OAuth refresh token was presented again; its grant is revoked")
                token_revoke(token=spent.mcp_token, by_label="OAuth: refresh token reused")
            return False
        request.mcp_token_id = request.refresh_token_instance.mcp_token_id
        return _grant_usable(request.mcp_token_id)

    def revoke_token(self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any) -> None:
        """RFC 7009: a client giving up its access or refresh token (signing out) ends
        the grant, so the Tokens page never shows a grant nothing can use any more.
        Only the client the token was issued to may (the toolkit's rule too)."""
        grant = None
        parsed = tokens.parse(token or "")
        application_pk = getattr(request.client, "pk", None)
        if parsed is not None and parsed.is_oauth and application_pk is not None:
            model = AccessToken if parsed.mode == "oauth_access" else RefreshToken
            row = model.objects.filter(token_checksum=parsed.digest, application_id=application_pk).first()
            grant = row.mcp_token if row is not None else None  # found before the toolkit deletes it
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if grant is not None:
            token_revoke(token=grant, by_label="OAuth client signed out (RFC 7009)")

    def _create_access_token(
        self, expires: Any, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> AccessToken:
        _require_our_resource(request)
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=request.resource,
            mcp_token_id=request.mcp_token_id,
        )
        self._set_token_value(access_token, token["access_token"])  # keeps the digest only
        access_token.save()
        return access_token

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> RefreshToken:
        refresh_token = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=previous_refresh_token.token_family if previous_refresh_token else uuid.uuid4(),
            resource=request.resource,
            mcp_token_id=request.mcp_token_id,
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token


def grant_tokens_revoke(mcp_token: MCPToken) -> None:
    """End every access and refresh token of a revoked grant (its MCPToken already
    refuses them; this leaves nothing to refresh and nothing usable behind)."""
    now = timezone.now()
    RefreshToken.objects.filter(mcp_token=mcp_token, revoked__isnull=True).update(revoked=now, access_token=None)
    AccessToken.objects.filter(mcp_token=mcp_token).delete()
    Grant.objects.filter(mcp_token=mcp_token).delete()
