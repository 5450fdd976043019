"""django-allauth adapters: where people land after signing in or up.

Someone who followed an invitation link before signing in (the session remembers
the invitation, never its secret) lands on accepting it; someone with no
organization yet lands on onboarding; everyone else on the dashboard. A `next`
URL, when given, wins (allauth applies it before asking the adapter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import reverse

from accounts.models import Membership

# Session key: the id of the invitation whose link this browser followed.
PENDING_INVITATION = "pending_invitation"


def landing_url(request: HttpRequest) -> str:
    """Where a person who just signed in (or up) goes when no `next` says otherwise."""
    if request.session.get(PENDING_INVITATION):
        return reverse("web:invitation-accept")
    has_organization = Membership.objects.filter(
        user_id=str(request.user.pk), organization__is_sandbox=False, organization__suspended_at__isnull=True
    ).exists()
    if not has_organization:
        return reverse("web:onboarding")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@dataclass(frozen=True)
class SiteName:
    """What allauth's mail calls "the site": Orchestra at APP_URL. Without the sites
    framework allauth would name the request's host ("Hello from 127.0.0.1:8101!")."""

    name: str
    domain: str
    url: str


def orchestra_site() -> SiteName:
    return SiteName(name="Orchestra", domain=urlsplit(settings.APP_URL).netloc, url=settings.APP_URL)


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        super().send_mail(template_prefix, email, {**context, "current_site": orchestra_site()})

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return landing_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        # With mandatory verification this is only reached once signed in.
        if request.user.is_authenticated:
            return landing_url(request)
        return super().get_signup_redirect_url(request)

    def get_email_verification_redirect_url(self, email_address: EmailAddress) -> str:
        request = self.request
        if request.user.is_authenticated:
            return landing_url(request)
        return super().get_email_verification_redirect_url(email_address)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> Any:
        """Our User has one `name` field rather than first and last names."""
        user = super().populate_user(request, sociallogin, data)
        name = (data.get("name") or "").strip()
        if not name:
            name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p).strip()
        user.name = (name or data.get("username") or "")[:150]
        return user
