"""The audit trail: owners and admins read, filter and download what people did."""

from django.urls import path

from dashboard.audit import views

urlpatterns = [
    path("audit/", views.audit_index, name="audit"),
    path("audit/export", views.audit_export, name="audit-export"),
]
