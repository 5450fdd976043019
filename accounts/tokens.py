"""The MCP token formats: `orch_live_` or `orch_test_` (tokens people create), and
`orch_oat_` / `orch_ort_` (OAuth access and refresh tokens, issued to MCP clients by
the oauth app); then random base62 and a checksum.

The checksum (CRC-32 of the prefix and random part, six base62 characters) lets us
refuse a mistyped or truncated token before any database lookup, and lets secret
scanners recognise real tokens. Only the SHA-256 digest is ever stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import zlib
from dataclasses import dataclass

ALPHABET = string.digits + string.ascii_letters  # base62
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6
PREFIXES = {"live": "orch_live_", "test": "orch_test_"}
# OAuth tokens: an access token is a bearer credential like an orch_ token; a refresh
# token is only ever presented to the token endpoint (a bearer refresh token is refused).
OAUTH_PREFIXES = {"oauth_access": "orch_oat_", "oauth_refresh": "orch_ort_"}
_ALL_PREFIXES = {**PREFIXES, **OAUTH_PREFIXES}
_TOKEN_RE = re.compile(rf"^orch_(live|test|oat|ort)_([0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}})$")
_KIND_OF = {"live": "live", "test": "test", "oat": "oauth_access", "ort": "oauth_refresh"}


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars))


def _checksum(prefix: str, random_part: str) -> str:
    return _base62(zlib.crc32(f"{prefix}{random_part}".encode()), CHECKSUM_LENGTH)


@dataclass(frozen=True)
class ParsedToken:
    mode: str  # "live", "test", "oauth_access" or "oauth_refresh"
    digest: str

    @property
    def is_oauth(self) -> bool:
        return self.mode in OAUTH_PREFIXES


def generate(mode: str) -> str:
    """A new raw token for `mode` ("live", "test", "oauth_access" or "oauth_refresh")."""
    prefix = _ALL_PREFIXES[mode]
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return f"{prefix}{random_part}{_checksum(prefix, random_part)}"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def parse(raw: str) -> ParsedToken | None:
    """The token's mode and digest, or None when it is not a well-formed token."""
    match = _TOKEN_RE.match(raw)
    if not match:
        return None
    body = match.group(2)
    mode = _KIND_OF[match.group(1)]
    prefix = _ALL_PREFIXES[mode]
    random_part, check = body[:RANDOM_LENGTH], body[RANDOM_LENGTH:]
    if not secrets.compare_digest(_checksum(prefix, random_part), check):
        return None
    return ParsedToken(mode=mode, digest=digest(raw))
