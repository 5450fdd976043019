"""Which organization a dashboard request acts in, and who may do what there.

The current organization is kept in the session (`organization_id`) and always
re-checked against the user's memberships: a removed member or a suspended
organization loses access on the next request. Views wrapped in
`organization_required` run inside `tenant_scope`, so tenant models' default
managers see only that organization, exactly as tools do for a token."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Membership, Role
from orchestra.actor import Actor
from orchestra.tenancy import tenant_scope

SESSION_KEY = "organization_id"
MANAGERS = (Role.OWNER, Role.ADMIN)
# Who may change the workplace (tasks, notes, specs, ...) from the dashboard; viewers read.
WRITERS = (Role.OWNER, Role.ADMIN, Role.MEMBER)
# Where a signed-in user without any organization is sent (the onboarding flow).
ONBOARDING_URL_NAME = "web:onboarding"

View = Callable[..., HttpResponse]


def memberships_of(user: Any) -> list[Membership]:
    """The user's memberships in live, non-suspended organizations, by name."""
    return list(
        Membership.objects.filter(user=user, organization__is_sandbox=False, organization__suspended_at__isnull=True)
        .select_related("organization")
        .order_by("organization__name", "organization__slug")
    )


def current_membership(request: HttpRequest, memberships: list[Membership] | None = None) -> Membership | None:
    """The membership of the organization the session names, else the user's first
    (among `memberships`, when the caller already has them)."""
    if memberships is None:
        memberships = memberships_of(request.user)
    wanted = request.session.get(SESSION_KEY)
    chosen = next((m for m in memberships if str(m.organization_id) == wanted), None)
    chosen = chosen or (memberships[0] if memberships else None)
    if chosen is not None and wanted != str(chosen.organization_id):
        request.session[SESSION_KEY] = str(chosen.organization_id)
    return chosen


def organization_required(view: View) -> View:
    """Signed in, a member of an organization (else to onboarding); sets
    `request.membership`, `request.organization`, `request.memberships`, and runs the
    view inside the organization's tenant scope."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        memberships = memberships_of(request.user)
        membership = current_membership(request, memberships)
        if membership is None:
            return redirect(ONBOARDING_URL_NAME)
        request.membership = membership  # type: ignore[attr-defined]
        request.organization = membership.organization  # type: ignore[attr-defined]
        request.memberships = memberships  # type: ignore[attr-defined]
        with tenant_scope(membership.organization):
            return view(request, *args, **kwargs)

    return wrapped


def role_required(*roles: str) -> Callable[[View], View]:
    """Only these roles (inside organization_required): others get 403."""

    def decorate(view: View) -> View:
        @organization_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.membership.role not in roles:  # type: ignore[attr-defined]
                raise PermissionDenied("your role does not allow this")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def writer_required(view: View) -> View:
    """Only owners, admins and members (viewers get 403, a forged POST included)."""
    return role_required(*WRITERS)(view)


def can_write(request: HttpRequest) -> bool:
    """Whether the page shows the buttons that change the workplace."""
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in WRITERS


def person_actor(request: HttpRequest) -> Actor:
    """The signed-in person as the actor of a service call (activity rows name them)."""
    return Actor(user_id=request.user.pk, tool="dashboard")


def can_manage(request: HttpRequest) -> bool:
    """Owners and admins manage tokens of others, members and invitations."""
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in MANAGERS


@login_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    """Make another of the user's organizations the current one."""
    wanted = request.POST.get("organization", "")
    if not any(str(m.organization_id) == wanted for m in memberships_of(request.user)):
        raise PermissionDenied("not a member of that organization")
    request.session[SESSION_KEY] = wanted
    target = request.POST.get("next") or reverse("web:home")
    return HttpResponseRedirect(target if target.startswith("/") and not target.startswith("//") else "/")
