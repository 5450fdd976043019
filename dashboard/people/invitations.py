"""Following an invitation link, and accepting it.

The link's page checks the secret, remembers the invitation's id in the session
(never the secret) and moves on to /invitations/accept/, so the secret leaves the
address bar at once. There a signed-in person whose address is the invited one
accepts with a POST; anyone else is told clearly why not; a visitor is offered to
sign up or log in, and allauth's adapter brings them back here afterwards.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.adapters import PENDING_INVITATION
from accounts.invitations import InvitationUnusable, invitation_accept, invitation_by_secret, is_for
from accounts.models import Invitation, Membership
from billing.usage import PlanLimitReached
from dashboard.context import SESSION_KEY
from orchestra.errors import PermissionDenied

STATUS_TEXT = {
    "accepted": "This invitation was already used.",
    "revoked": "This invitation was withdrawn by the organization.",
    "expired": "This invitation has expired.",
    "unknown": "This invitation link is not valid.",
}


def _invalid(request: HttpRequest, status: str) -> HttpResponse:
    request.session.pop(PENDING_INVITATION, None)
    text = STATUS_TEXT.get(status, f"This invitation cannot be used ({status}).")
    return render(request, "web/people/invitations/invalid.html", {"status": status, "text": text}, status=410)


@never_cache
def follow(request: HttpRequest, secret: str) -> HttpResponse:
    invitation = invitation_by_secret(secret)
    if invitation is None:
        return _invalid(request, "unknown")
    if invitation.status != "pending":
        return _invalid(request, invitation.status)
    request.session[PENDING_INVITATION] = str(invitation.pk)
    return redirect("web:invitation-accept")


def _pending(request: HttpRequest) -> Invitation | None:
    wanted = request.session.get(PENDING_INVITATION)
    if not wanted:
        return None
    return Invitation.objects.select_related("organization", "invited_by").filter(pk=wanted).first()


@never_cache
def accept(request: HttpRequest) -> HttpResponse:
    invitation = _pending(request)
    if invitation is None:
        messages.info(request, "Open the invitation link from your mail to join an organization.")
        return redirect("web:home")
    if invitation.status != "pending":
        return _invalid(request, invitation.status)
    context: dict[str, Any] = {"invitation": invitation}
    if not request.user.is_authenticated:
        return render(request, "web/people/invitations/welcome.html", context)
    if not is_for(invitation, request.user):
        return render(request, "web/people/invitations/wrong_account.html", context, status=403)
    if request.method == "POST":
        if request.POST.get("decision") == "decline":
            request.session.pop(PENDING_INVITATION, None)
            messages.info(request, f"You did not join {invitation.organization.name}.")
            return redirect("web:home")
        return _accept(request, invitation)
    context["already"] = Membership.objects.filter(organization=invitation.organization, user=request.user).exists()
    return render(request, "web/people/invitations/accept.html", context)


def _accept(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    try:
        membership = invitation_accept(invitation=invitation, user=request.user)  # type: ignore[arg-type]
    except InvitationUnusable as exc:
        return _invalid(request, exc.status)
    except PermissionDenied:
        return render(request, "web/people/invitations/wrong_account.html", {"invitation": invitation}, status=403)
    except PlanLimitReached as exc:
        # The organization is at (or, after a downgrade, over) its plan's seats: the
        # invitation stays pending, and may be accepted once there is room again.
        context = {"invitation": invitation, "text": exc.message[:1].upper() + exc.message[1:] + "."}
        return render(request, "web/people/invitations/no_seat.html", context, status=402)
    request.session.pop(PENDING_INVITATION, None)
    request.session[SESSION_KEY] = str(membership.organization_id)
    messages.success(request, f"Welcome to {membership.organization.name}! You joined as {membership.role}.")
    return redirect("web:home")


@require_POST
def accept_addressed(request: HttpRequest, invitation_id: uuid.UUID) -> HttpResponse:
    """Accept, from onboarding, an invitation addressed to one of the signed-in
    person's verified addresses (for those who verified in another browser)."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    invitation = Invitation.objects.select_related("organization").filter(pk=invitation_id).first()
    if invitation is None or not is_for(invitation, request.user):
        return _invalid(request, "unknown")
    return _accept(request, invitation)
