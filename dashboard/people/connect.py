"""The connect page: where the MCP server is and how to point an agent at it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.context import organization_required
from dashboard.people.snippets import PLACEHOLDER, connect_context


@organization_required
def connect(request: HttpRequest) -> HttpResponse:
    context = {**connect_context(PLACEHOLDER), "placeholder": PLACEHOLDER, "section": "connect"}
    return render(request, "web/people/connect.html", context)
