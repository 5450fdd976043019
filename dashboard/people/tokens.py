"""The tokens page: list, create (shown once, with .mcp.json), revoke.

Members see and revoke their own tokens; owners and admins everyone's in the
organization. Someone else's token that one may not see answers 404, like one of
another organization.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.models import MCPToken, Scope
from accounts.services import IssuedToken, token_create, token_revoke
from dashboard.context import can_manage, organization_required
from dashboard.people.forms import TokenForm
from dashboard.people.snippets import issued_context
from orchestra.errors import ToolError


def visible_tokens(request: HttpRequest) -> QuerySet[MCPToken]:
    tokens = MCPToken.objects.filter(organization=request.organization).select_related(  # type: ignore[attr-defined]
        "user", "project"
    )
    if not can_manage(request):
        tokens = tokens.filter(user_id=str(request.user.pk))
    return tokens.order_by(F("revoked_at").desc(nulls_first=True), "-created_at")


def create_from_form(request: HttpRequest, form: TokenForm) -> IssuedToken | None:
    """Issue the token a valid form describes; service errors land on the form."""
    data = form.cleaned_data
    days = data.get("expires_in_days")
    try:
        return token_create(
            organization=request.organization,  # type: ignore[attr-defined]
            user=request.user,  # type: ignore[arg-type]
            name=data["name"],
            mode=data["mode"],
            scopes=[Scope.READ] if data.get("read_only") else [Scope.READ, Scope.WRITE],
            project_id=uuid.UUID(data["project"]) if data.get("project") else None,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
    except ToolError as exc:
        form.add_error(None, exc.message)
        return None


def _list(request: HttpRequest, form: TokenForm, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "tokens": visible_tokens(request),
        "form": form,
        "manager": can_manage(request),
        "now": timezone.now(),
        "section": "tokens",
    }
    return render(request, "web/people/tokens/list.html", context, status=status)


@never_cache
@organization_required
def tokens(request: HttpRequest) -> HttpResponse:
    kwargs = {"organization": request.organization, "membership": request.membership}  # type: ignore[attr-defined]
    if request.method != "POST":
        return _list(request, TokenForm(**kwargs))
    form = TokenForm(request.POST, **kwargs)
    issued = create_from_form(request, form) if form.is_valid() else None
    if issued is None:
        return _list(request, form, status=400)
    # Rendered in the answer to the POST, never stored for later: the raw token is
    # shown this once (never_cache keeps it out of caches and the back button).
    return render(request, "web/people/tokens/created.html", {**issued_context(issued), "section": "tokens"})


@organization_required
def revoke(request: HttpRequest, token_id: uuid.UUID) -> HttpResponse:
    token = get_object_or_404(visible_tokens(request), pk=token_id)
    if request.method == "POST":
        token_revoke(token=token, by=request.user)
        messages.success(request, f"Revoked “{token.name}”: agents using it are disconnected.")
        return redirect("web:tokens")
    return render(request, "web/people/tokens/confirm_revoke.html", {"token": token, "section": "tokens"})
