"""Helpers of the people tests (their fixtures are in tests.people_fixtures)."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import User


def verified(user: User) -> User:
    """An account as allauth leaves it after sign-up and verification."""
    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()
