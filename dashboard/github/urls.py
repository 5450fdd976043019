"""The GitHub page and its install flow."""

from django.urls import path

from dashboard.github import views

urlpatterns = [
    path("github/", views.github, name="github"),
    path("github/install", views.github_install, name="github-install"),
    path("github/setup", views.github_setup, name="github-setup"),
    path("github/token", views.github_token, name="github-token"),
    path("github/disconnect", views.github_disconnect, name="github-disconnect"),
]
