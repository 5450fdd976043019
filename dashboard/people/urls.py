"""Sign-up aliases, onboarding, invitations, members, tokens and connecting agents."""

from django.urls import path
from django.views.generic import RedirectView

from dashboard.people import connect, deletion, invitations, members, onboarding, tokens

urlpatterns = [
    # The address our public docs give for signing up.
    path("register", RedirectView.as_view(pattern_name="account_signup", query_string=True), name="register"),
    path("onboarding/", onboarding.start, name="onboarding"),
    path("onboarding/organization", onboarding.organization, name="onboarding-organization"),
    path("onboarding/invite", onboarding.invite, name="onboarding-invite"),
    path("onboarding/token", onboarding.token, name="onboarding-token"),
    path("onboarding/skip", onboarding.skip, name="onboarding-skip"),
    path("invitations/accept/", invitations.accept, name="invitation-accept"),
    path("invitations/<uuid:invitation_id>/accept", invitations.accept_addressed, name="invitation-accept-addressed"),
    path("invitations/<str:secret>/", invitations.follow, name="invitation"),
    path("members/", members.members, name="members"),
    path("members/invite", members.invite, name="invite"),
    path("members/leave", members.leave, name="leave"),
    path("members/<uuid:membership_id>/role", members.change_role, name="member-role"),
    path("members/<uuid:membership_id>/remove", members.remove, name="member-remove"),
    path("members/invitations/<uuid:invitation_id>/revoke", members.revoke_invitation, name="invitation-revoke"),
    path("tokens/", tokens.tokens, name="tokens"),
    path("tokens/<uuid:token_id>/revoke", tokens.revoke, name="token-revoke"),
    path("connect/", connect.connect, name="connect"),
    path("organization/delete", deletion.delete_organization, name="organization-delete"),
    path("account/", deletion.account, name="account"),
    path("account/delete", deletion.delete_account, name="account-delete"),
]
