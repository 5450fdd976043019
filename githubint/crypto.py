"""Secrets at rest: Fernet with every key of ENCRYPTION_KEYS (newest first).

The first key encrypts; every key decrypts, so a new key can be put in front and
`manage.py rotatekeys` re-encrypts what is stored before the old key is dropped.
Without ENCRYPTION_KEYS one key is derived from SECRET_KEY (local use)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(RuntimeError):
    """A stored secret none of the configured keys can decrypt."""


def _keys() -> list[str]:
    if settings.ENCRYPTION_KEYS:
        return list(settings.ENCRYPTION_KEYS)
    digest = hashlib.sha256(b"orchestra-encryption-key:" + settings.SECRET_KEY.encode()).digest()
    return [base64.urlsafe_b64encode(digest).decode()]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("a stored secret cannot be decrypted with ENCRYPTION_KEYS") from None


def reencrypt(ciphertext: str) -> str:
    """The same secret under the newest key (unchanged if it already is)."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("a stored secret cannot be decrypted with ENCRYPTION_KEYS") from None
