"""The Billing page (only while billing is on) and its two actions."""

from django.urls import path

from dashboard.billing import views

urlpatterns = [
    path("billing/", views.billing, name="billing"),
    path("billing/upgrade", views.billing_upgrade, name="billing-upgrade"),
    path("billing/portal", views.billing_portal, name="billing-portal"),
]
