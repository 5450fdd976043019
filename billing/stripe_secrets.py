"""Stripe's secrets never reach the database (docs/decisions/0016).

dj-stripe keeps API keys in its `APIKey` table (in plain text): it adds a row for the
settings' secret key the first time it syncs anything, to remember which Stripe account
the key belongs to. And `WebhookEndpoint.secret` holds each endpoint's signing secret.
Orchestra's keys come only from settings (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET), so:

- the account lookup dj-stripe does for a key is replaced by one that asks Stripe for
  the account and remembers it in the process (by a digest of the key, never the key);
- saving an `APIKey` row with a secret or restricted key raises, whatever path tries;
- a `WebhookEndpoint` row's secret is blanked before every save (the view verifies
  signatures with STRIPE_WEBHOOK_SECRET instead).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from django.db.models.signals import pre_save
from djstripe.enums import APIKeyType
from djstripe.models import Account, APIKey, WebhookEndpoint
from djstripe.settings import djstripe_settings


class SecretStorageRefused(Exception):
    """Something tried to write a Stripe secret key to the database."""


_accounts: dict[str, str] = {}  # sha256(key) -> Stripe account id
_lock = threading.Lock()


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def account_for_api_key(api_key: str) -> Account:
    """The Stripe account a key belongs to (dj-stripe's lookup, minus the APIKey row):
    one GET /v1/account per process and key, then the Account row."""
    digest = _digest(api_key)
    with _lock:
        known = _accounts.get(digest)
    if known is not None:
        account = Account.objects.filter(id=known).first()
        if account is not None:
            return account
    data = Account.stripe_class.retrieve(api_key=api_key, stripe_version=djstripe_settings.STRIPE_API_VERSION)
    # A stub first, remembered before syncing: syncing the account looks up the key's
    # account again (as dj-stripe's own lookup does) and must find this one.
    account, created = Account.objects.get_or_create(id=data["id"])
    with _lock:
        _accounts[digest] = account.id
    if created:
        account = Account.sync_from_stripe_data(data, api_key=api_key)
    return account


def _get_or_retrieve_for_api_key(cls: type[Account], api_key: str) -> Account:
    return account_for_api_key(api_key)


def _refuse_secret_keys(sender: type[APIKey], instance: APIKey, **kwargs: Any) -> None:
    # Only a publishable key (public by design) may be stored.
    if instance.type in (APIKeyType.secret, APIKeyType.restricted) or not instance.secret.startswith("pk_"):
        raise SecretStorageRefused(
            "Orchestra never stores Stripe secret keys in the database: they come from STRIPE_SECRET_KEY"
        )


def _blank_webhook_secret(sender: type[WebhookEndpoint], instance: WebhookEndpoint, **kwargs: Any) -> None:
    # The signing secret is STRIPE_WEBHOOK_SECRET; Stripe returns it when an endpoint is
    # created and dj-stripe would keep it here.
    instance.secret = ""


def install() -> None:
    """Called once from BillingConfig.ready()."""
    Account.get_or_retrieve_for_api_key = classmethod(_get_or_retrieve_for_api_key)
    pre_save.connect(_refuse_secret_keys, sender=APIKey, dispatch_uid="billing.refuse_stripe_secret_keys")
    pre_save.connect(_blank_webhook_secret, sender=WebhookEndpoint, dispatch_uid="billing.blank_webhook_secret")
