"""Dashboard pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.web.context import organization_required


@organization_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard/home.html")
