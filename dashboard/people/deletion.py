"""Deleting the organization (its owners, typing its name) and one's own account.

Both call accounts.deletion, as the admin does: the organization is unusable at once
(tokens and grants revoked, streams closed) and its rows go in the background; an
account is refused while its person is the last owner of a team."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.deletion import account_delete, account_deletion_plan, last_owner_message, organization_delete
from accounts.models import Membership, Role, User
from dashboard.context import SESSION_KEY, role_required
from orchestra.errors import ToolError


class DeleteOrganizationForm(forms.Form):
    name = forms.CharField(max_length=120, label="Type the organization's name to confirm")
    reason = forms.CharField(max_length=300, required=False, label="Why (optional, kept with the record)")

    def __init__(self, *args: object, organization_name: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.organization_name = organization_name

    def clean_name(self) -> str:
        name = str(self.cleaned_data.get("name") or "")
        if name.strip() != self.organization_name.strip():
            raise forms.ValidationError("that is not this organization's name")
        return name


@role_required(Role.OWNER)
def delete_organization(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    organization = membership.organization
    form = DeleteOrganizationForm(request.POST or None, organization_name=organization.name)
    if request.method == "POST" and form.is_valid():
        organization_delete(
            organization=organization,
            by=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
        )
        request.session.pop(SESSION_KEY, None)
        messages.success(
            request, f"{organization.name} is deleted: its tokens stopped working, and its data is being removed."
        )
        return redirect("web:home")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "organization": organization, "section": "members"}
    return render(request, "web/people/deletion/organization.html", context, status=status)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in person's account: their organizations and the way out."""
    user: User = request.user  # type: ignore[assignment]
    memberships = (
        Membership.objects.filter(user=user, organization__is_sandbox=False)
        .select_related("organization")
        .order_by("organization__name")
    )
    return render(request, "web/people/deletion/account.html", {"memberships": memberships, "section": "account"})


@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    plan = account_deletion_plan(user)
    if request.method == "POST":
        if request.POST.get("confirm") != "delete":
            messages.error(request, "Tick the box to confirm.")
            return redirect("web:account-delete")
        try:
            account_delete(user=user)
        except ToolError as exc:
            messages.error(request, exc.message[:1].upper() + exc.message[1:] + ".")
            return redirect("web:account-delete")
        logout(request)
        messages.success(request, "Your account is deleted.")
        return redirect("account_login")
    blocking = last_owner_message(plan.blocking) if plan.blocking else ""
    return render(
        request,
        "web/people/deletion/confirm_account.html",
        {"plan": plan, "blocking": blocking[:1].upper() + blocking[1:], "section": "account"},
    )
