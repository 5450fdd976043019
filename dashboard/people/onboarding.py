"""Onboarding right after sign-up: name the organization, invite the team, make
the first token. Each step after the first can be skipped and resumed later from
the dashboard; where someone stands is read from the data (accounts.onboarding)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import onboarding
from accounts.invitations import invitation_create, invitations_for, pending_invitations
from accounts.members import MANAGERS
from accounts.models import Membership, TokenMode
from accounts.services import organization_create
from dashboard.context import SESSION_KEY, current_membership, organization_required, role_required
from dashboard.people.consent import RETURN_SESSION_KEY as CONSENT_RETURN_KEY
from dashboard.people.forms import InviteManyForm, OrganizationForm, TokenForm
from dashboard.people.members import base_url
from dashboard.people.snippets import issued_context
from dashboard.people.tokens import create_from_form
from orchestra.errors import ToolError

URL_NAMES = {
    onboarding.ORGANIZATION: "web:onboarding-organization",
    onboarding.INVITE: "web:onboarding-invite",
    onboarding.TOKEN: "web:onboarding-token",
}


def _render(
    request: HttpRequest, template: str, membership: Membership | None, current: str, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"steps": onboarding.onboarding_steps(membership), "current": current, "membership": membership, **extra}
    return render(request, f"web/people/onboarding/{template}", context, status=status)


def _next(membership: Membership | None) -> HttpResponse:
    step = onboarding.next_step(membership)
    return redirect(URL_NAMES[step] if step else "web:home")


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Wherever the person stands: the first step still to do, or the dashboard."""
    return _next(current_membership(request))


@login_required
def organization(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = organization_create(name=form.cleaned_data["name"], owner=request.user)  # type: ignore[arg-type]
        except ToolError as exc:
            form.add_error("name", exc.message)
        else:
            request.session[SESSION_KEY] = str(org.pk)
            messages.success(request, f"{org.name} is ready.")
            consent = request.session.pop(CONSENT_RETURN_KEY, None)
            if consent and url_has_allowed_host_and_scheme(consent, allowed_hosts=None):
                return redirect(consent)  # an MCP client's sign-in was waiting for this
            return _next(current_membership(request))
    context = {"form": form, "invitations": invitations_for(request.user)}  # type: ignore[arg-type]
    status = 400 if form.errors else 200
    return _render(request, "organization.html", membership, onboarding.ORGANIZATION, status=status, **context)


@role_required(*MANAGERS)
def invite(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form = InviteManyForm(request.POST or None, by=membership)
    if request.method == "POST" and form.is_valid():
        sent, failed = [], []
        for email in form.cleaned_data["emails"]:
            try:
                invitation_create(
                    organization=membership.organization,
                    email=email,
                    role=form.cleaned_data["role"],
                    invited_by=request.user,  # type: ignore[arg-type]
                    base_url=base_url(request),
                )
            except ToolError as exc:
                failed.append(f"{email}: {exc.message}")
            else:
                sent.append(email)
        if sent:
            messages.success(request, f"Invitation sent to {', '.join(sent)}.")
        if not failed:
            return _next(membership)
        form = InviteManyForm(initial={"role": form.cleaned_data["role"]}, by=membership)
        form.add_error(None, "; ".join(failed))
    context = {"form": form, "invitations": pending_invitations(membership.organization)}
    status = 400 if form.errors else 200
    return _render(request, "invite.html", membership, onboarding.INVITE, status=status, **context)


@never_cache
@organization_required
def token(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form = TokenForm(
        request.POST or None,
        initial={"name": "My laptop", "mode": TokenMode.LIVE},
        organization=membership.organization,
        membership=membership,
    )
    if request.method == "POST" and form.is_valid():
        issued = create_from_form(request, form)
        if issued is not None:
            # Shown once, in the answer to the POST.
            return _render(request, "token.html", membership, onboarding.TOKEN, **issued_context(issued))
    status = 400 if form.errors else 200
    return _render(request, "token.html", membership, onboarding.TOKEN, status=status, form=form)


@require_POST
@organization_required
def skip(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    try:
        onboarding.onboarding_skip(membership=membership, step=request.POST.get("step", ""))
    except ToolError as exc:
        messages.error(request, exc.message)
    return _next(membership)
