"""Operators' admin for people, organizations, memberships and tokens.

Token digests are never shown; tokens are issued where they can be shown once
(createtoken, the dashboard), so the admin can revoke but not add them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.deletion import account_delete, organization_delete
from accounts.models import Invitation, MCPToken, Membership, Organization, User
from accounts.services import organization_suspend, token_revoke
from billing.admin import RecountsUsage, recount_organizations
from billing.plans import Resource
from billing.services import usage_release
from orchestra.errors import ToolError


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ("delete_account",)

    @admin.action(description="Delete account as its owner would (refused for a last owner of a team)")
    def delete_account(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        # accounts.deletion: memberships, tokens and grants go, authored rows stay
        # ("deleted user"), organizations they were alone in are deleted.
        deleted = 0
        for user in queryset:
            try:
                account_delete(user=user, by_label=f"operator {request.user}")
            except ToolError as exc:
                messages.error(request, f"{user.email}: {exc.message}")
            else:
                deleted += 1
        messages.success(request, f"Deleted {deleted} account(s).")

    # Deleting a person deletes their memberships and tokens: the seat and token
    # counters of their organizations are recounted.
    def delete_model(self, request: HttpRequest, obj: User) -> None:
        with transaction.atomic():
            organizations = _organizations_of_users([obj.pk])
            super().delete_model(request, obj)
            recount_organizations(organizations)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with transaction.atomic():
            organizations = _organizations_of_users(list(queryset.values_list("pk", flat=True)))
            super().delete_queryset(request, queryset)
            recount_organizations(organizations)


def _organizations_of_users(user_ids: list[Any]) -> set[Any]:
    return set(Membership.objects.filter(user_id__in=user_ids).values_list("organization_id", flat=True)) | set(
        MCPToken.objects.filter(user_id__in=user_ids).values_list("organization_id", flat=True)
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_sandbox", "suspended_at", "created_at")
    list_filter = ("is_sandbox", ("suspended_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "slug")
    readonly_fields = ("is_sandbox", "live_organization", "created_at")
    inlines = (MembershipInline,)
    actions = ("suspend", "unsuspend", "delete_organization")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Members added or removed in the inline: the seat counters follow.
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            recount_organizations([form.instance.pk])

    @admin.action(description="Suspend: their tokens stop working at once")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        for org in queryset:
            organization_suspend(organization=org)
        messages.success(request, f"Suspended {queryset.count()} organization(s).")

    @admin.action(description="Lift the suspension")
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        restored = 0
        for org in queryset:
            try:
                organization_suspend(organization=org, suspended=False)
            except ToolError as exc:
                messages.error(request, exc.message)
            else:
                restored += 1
        messages.success(request, f"Restored {restored} organization(s).")

    @admin.action(description="Delete: tokens revoked and streams closed now, rows removed in the background")
    def delete_organization(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        # The same service as an owner's deletion (accounts.deletion): Stripe and GitHub
        # are let go, the sandbox goes along, and the deletion stays on record.
        deleted = 0
        for org in queryset.filter(is_sandbox=False):
            organization_delete(
                organization=org, by_label=f"operator {request.user}", reason="deleted by an operator in the admin"
            )
            deleted += 1
        messages.success(request, f"Deleted {deleted} organization(s); their rows are being removed.")


@admin.register(Membership)
class MembershipAdmin(RecountsUsage):
    """An operator may add or remove members here, past the plan's limit if need be
    (a support case); the seat counters follow (RecountsUsage)."""

    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "created_at")
    search_fields = ("user__email", "organization__name", "organization__slug")
    list_select_related = ("user", "organization")
    autocomplete_fields = ("user", "organization")


@admin.register(MCPToken)
class MCPTokenAdmin(RecountsUsage):
    list_display = (
        "name",
        "masked",
        "organization",
        "user",
        "mode",
        "scopes",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("mode", ("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "last_four", "user__email", "organization__slug")
    list_select_related = ("organization", "user")
    # The digest is never displayed, not even read-only.
    fields = (
        "name",
        "masked",
        "organization",
        "user",
        "mode",
        "scopes",
        "project",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "created_at",
    )
    readonly_fields = (
        "masked",
        "organization",
        "user",
        "mode",
        "scopes",
        "project",
        "last_used_at",
        "revoked_at",
        "created_at",
    )
    actions = ("revoke",)

    @admin.display(description="token")
    def masked(self, token: MCPToken) -> str:
        return f"{token.prefix}…{token.last_four}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke: stops working at once")
    def revoke(self, request: HttpRequest, queryset: QuerySet[MCPToken]) -> None:
        for token in queryset:
            token_revoke(token=token, by=request.user, by_label=f"operator {request.user}")
        messages.success(request, f"Revoked {queryset.count()} token(s).")


@admin.register(Invitation)
class InvitationAdmin(RecountsUsage):
    """Invitations are sent from the dashboard (the link is shown nowhere else); an
    operator can read and revoke them. The digest is never displayed."""

    list_display = ("email", "organization", "role", "state", "invited_by", "expires_at", "created_at")
    list_filter = (
        "role",
        ("accepted_at", admin.EmptyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
        "created_at",
    )
    search_fields = ("email", "organization__name", "organization__slug", "invited_by__email")
    list_select_related = ("organization", "invited_by")
    fields = (
        "email",
        "organization",
        "role",
        "invited_by",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ("revoke",)

    @admin.display(description="status")
    def state(self, invitation: Invitation) -> str:
        return invitation.status

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke: their links stop working")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        revoked = 0
        with transaction.atomic():
            open_ = Invitation.objects.select_for_update().filter(
                pk__in=queryset.values("pk"), accepted_at__isnull=True, revoked_at__isnull=True
            )
            per_org: dict[Any, int] = {}
            for invitation in open_.order_by("pk"):
                invitation.revoked_at = timezone.now()
                invitation.save(update_fields=["revoked_at"])
                per_org[invitation.organization_id] = per_org.get(invitation.organization_id, 0) + 1
            # The seats the invitations held, given back (the counters last).
            for org_id, count in sorted(per_org.items(), key=lambda item: str(item[0])):
                usage_release(organization=org_id, resource=Resource.MEMBERS, amount=count)
                revoked += count
        messages.success(request, f"Revoked {revoked} invitation(s).")
