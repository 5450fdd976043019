"""The Export and import page (owners only)."""

from django.urls import path

from dashboard.portability import views

urlpatterns = [
    path("portability/", views.page, name="portability"),
    path("portability/export", views.export, name="portability-export"),
    path("portability/exports/<uuid:job_id>/download", views.download, name="portability-download"),
    path("portability/import", views.import_upload, name="portability-import"),
]
