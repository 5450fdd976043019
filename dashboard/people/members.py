"""The members page: members and pending invitations; owners and admins invite,
change roles, remove people and revoke invitations; anyone may leave."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.invitations import invitation_create, invitation_revoke, pending_invitations
from accounts.members import MANAGERS, member_leave, member_remove, member_set_role, members_of
from accounts.models import Invitation, Membership
from dashboard.context import SESSION_KEY, can_manage, organization_required, role_required
from dashboard.people.forms import ROLE_HELP, InviteForm, RoleForm, role_choices
from orchestra.errors import ToolError


def base_url(request: HttpRequest) -> str:
    """The address this request came to, for links in mail (allauth's links do the same)."""
    return request.build_absolute_uri("/").rstrip("/")


def _page(request: HttpRequest, invite_form: InviteForm | None = None, status: int = 200) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    manager = can_manage(request)
    context: dict[str, Any] = {
        "members": members_of(membership.organization_id),
        "invitations": pending_invitations(membership.organization) if manager else [],
        "manager": manager,
        "me": membership,
        "invite_form": invite_form or (InviteForm(by=membership) if manager else None),
        "role_choices": role_choices(membership) if manager else [],
        "role_help": ROLE_HELP,
        "section": "members",
    }
    return render(request, "web/people/members/list.html", context, status=status)


def _refused(request: HttpRequest, exc: ToolError) -> None:
    """A service's refusal (one lower-case line) as a sentence on the next page."""
    messages.error(request, exc.message[:1].upper() + exc.message[1:] + ".")


@organization_required
def members(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@role_required(*MANAGERS)
def invite(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form = InviteForm(request.POST, by=membership)
    if form.is_valid():
        try:
            issued = invitation_create(
                organization=membership.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,  # type: ignore[arg-type]
                base_url=base_url(request),
            )
        except ToolError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Invitation sent to {issued.invitation.email}.")
            return redirect("web:members")
    return _page(request, invite_form=form, status=400)


def _target(request: HttpRequest, membership_id: uuid.UUID) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "organization"),
        pk=membership_id,
        organization=request.organization,  # type: ignore[attr-defined]
    )


@require_POST
@role_required(*MANAGERS)
def change_role(request: HttpRequest, membership_id: uuid.UUID) -> HttpResponse:
    target = _target(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick one of the roles.")
        return redirect("web:members")
    try:
        member_set_role(membership=target, role=form.cleaned_data["role"], by=request.membership)  # type: ignore[attr-defined]
    except ToolError as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"{target.user.email} is now {form.cleaned_data['role']}.")
    return redirect("web:members")


@role_required(*MANAGERS)
def remove(request: HttpRequest, membership_id: uuid.UUID) -> HttpResponse:
    target = _target(request, membership_id)
    if request.method != "POST":
        return render(request, "web/people/members/confirm_remove.html", {"target": target, "section": "members"})
    try:
        member_remove(membership=target, by=request.membership)  # type: ignore[attr-defined]
    except ToolError as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"Removed {target.user.email}; their tokens here are revoked.")
    return redirect("web:members")


@organization_required
def leave(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    if request.method != "POST":
        return render(request, "web/people/members/confirm_leave.html", {"me": membership, "section": "members"})
    try:
        member_leave(membership=membership)
    except ToolError as exc:
        _refused(request, exc)
        return redirect("web:members")
    request.session.pop(SESSION_KEY, None)
    messages.success(request, f"You left {membership.organization.name}.")
    return redirect("web:home")


@require_POST
@role_required(*MANAGERS)
def revoke_invitation(request: HttpRequest, invitation_id: uuid.UUID) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, organization=request.organization)  # type: ignore[attr-defined]
    try:
        invitation_revoke(invitation=invitation, by=request.user)  # type: ignore[arg-type]
    except ToolError as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"Revoked the invitation of {invitation.email}.")
    return redirect("web:members")
