"""Sign-up aliases, onboarding, invitations and members."""

from django.urls import path
from django.views.generic import RedirectView

from accounts.web.people import views

urlpatterns = [
    # The address our public docs give for signing up.
    path("register", RedirectView.as_view(pattern_name="account_signup", query_string=True), name="register"),
    path("onboarding/", views.onboarding, name="onboarding"),
]
