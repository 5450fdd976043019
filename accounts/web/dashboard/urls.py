"""The dashboard."""

from django.urls import path

from accounts.web.dashboard import views

urlpatterns = [
    path("", views.home, name="home"),
]
