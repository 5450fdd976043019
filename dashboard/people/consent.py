"""The OAuth consent page (the toolkit's authorization endpoint, GET /oauth/authorize/).

After sign-in the person sees which client asks (its name and where it sends them
back), and chooses the organization (when they belong to several), live or sandbox,
read-only or read-write (viewers: read-only only) and optionally one project.
Consenting creates one MCPToken of kind oauth through accounts.services.token_create
(it counts like any token), and the toolkit's code, then its tokens, act as it.

Before the page: the request must ask for code with S256 and name this server's /mcp
as its resource (RFC 8707); anything else goes back to the client as an error.
Someone without an organization yet goes through onboarding first and returns here.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView
from oauthlib.oauth2.rfc6749 import errors

from accounts.models import Membership, Role, Scope, TokenKind, TokenMode
from accounts.services import token_create
from dashboard.context import ONBOARDING_URL_NAME, memberships_of
from oauth.models import Grant
from oauth.validators import InvalidTarget
from orchestra import csp
from orchestra.errors import ToolError
from tools.projects.models import Project

# Where onboarding sends someone back to once they have an organization.
RETURN_SESSION_KEY = "oauth_consent_return"


class ConsentForm(AllowForm):
    organization = forms.ChoiceField(label="Organization")
    mode = forms.ChoiceField(
        label="Data",
        choices=[(TokenMode.LIVE, "Live data"), (TokenMode.TEST, "Sandbox (test data)")],
        initial=TokenMode.LIVE,
        widget=forms.RadioSelect,
    )
    access = forms.ChoiceField(
        label="Access",
        choices=[("read", "Read-only"), ("write", "Read and write")],
        initial="write",
        widget=forms.RadioSelect,
    )
    project = forms.ChoiceField(label="Only this project", required=False)

    def __init__(self, *args: Any, memberships: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memberships = memberships
        field: Any = self.fields["organization"]
        field.choices = [(str(m.organization_id), f"{m.organization.name} ({m.role})") for m in memberships]
        if memberships:
            self.fields["organization"].initial = str(memberships[0].organization_id)
        if len(memberships) == 1:
            self.fields["organization"].widget = forms.HiddenInput()
        if all(m.role == Role.VIEWER for m in memberships):
            access: Any = self.fields["access"]
            access.choices = [("read", "Read-only (viewers only read)")]
            access.initial = "read"
        homes = [m.organization_id for m in memberships]
        projects = (
            # The live organizations' projects and their sandboxes' (a test grant's home).
            Project._base_manager.filter(
                Q(organization_id__in=homes) | Q(organization__live_organization_id__in=homes),
                archived_at__isnull=True,
            )
            .select_related("organization")
            .order_by("organization__name", "name")
        )
        project: Any = self.fields["project"]
        project.choices = [("", "All projects")] + [(str(p.pk), f"{p.organization} / {p.name}") for p in projects]

    def membership(self) -> Membership:
        wanted = self.cleaned_data["organization"]
        return next(m for m in self.memberships if str(m.organization_id) == wanted)


@method_decorator(never_cache, name="dispatch")
class ConsentView(AuthorizationView):
    template_name = "web/people/consent.html"
    form_class = ConsentForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            self.memberships = memberships_of(request.user)
            if not self.memberships:
                # Onboarding first (an organization is what a grant acts in), then back.
                request.session[RETURN_SESSION_KEY] = request.get_full_path()
                return redirect(ONBOARDING_URL_NAME)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "memberships": self.memberships}

    def validate_authorization_request(self, request: HttpRequest) -> tuple[Any, dict[str, Any]]:
        """The toolkit's checks (client, redirect URI, PKCE present), then ours: S256
        only, and the resource must be this server's /mcp. Errors after the redirect
        URI is known go back to the client, as RFC 6749 asks."""
        scopes, credentials = super().validate_authorization_request(request)
        redirect_uri = credentials["redirect_uri"]
        state = credentials.get("state")
        if credentials.get("code_challenge_method") != "S256":
            raise OAuthToolkitError(
                error=errors.InvalidRequestError(description="code_challenge_method must be S256", state=state),
                redirect_uri=redirect_uri,
            )
        if request.GET.getlist("resource") != [settings.OAUTH_RESOURCE]:
            raise OAuthToolkitError(
                error=InvalidTarget(description=f"resource must be {settings.OAUTH_RESOURCE}", state=state),
                redirect_uri=redirect_uri,
            )
        return scopes, credentials

    def render_to_response(self, context: dict[str, Any], **response_kwargs: Any) -> HttpResponse:
        """The page, with a policy that lets its form's answer take the browser to the
        client's redirect URI (Chromium applies form-action to a submission's redirects)."""
        response = super().render_to_response(context, **response_kwargs)
        target = urlsplit(self.oauth2_data.get("redirect_uri") or self.request.POST.get("redirect_uri", ""))
        if target.scheme in ("http", "https") and target.netloc:
            response[csp.HEADER] = csp.policy(
                self.request,
                self.request.csp_nonce,
                form_targets=(f"{target.scheme}://{target.netloc}",),
            )
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        redirect_uri = self.oauth2_data.get("redirect_uri") or self.request.POST.get("redirect_uri", "")
        context["redirect_host"] = urlsplit(redirect_uri).netloc
        client_id = self.oauth2_data.get("client_id") or self.request.POST.get("client_id", "")
        context.setdefault("application", get_application_model().objects.filter(client_id=client_id).first())
        return context

    def form_valid(self, form: ConsentForm) -> HttpResponse:
        if not form.cleaned_data.get("allow"):
            return super().form_valid(form)  # the toolkit answers access_denied to the client
        if form.cleaned_data.get("resource") != settings.OAUTH_RESOURCE:  # a tampered hidden field
            form.add_error(None, "This request does not name Orchestra's MCP endpoint.")
            return self.form_invalid(form)
        application = get_application_model().objects.filter(client_id=form.cleaned_data["client_id"]).first()
        if application is None:
            form.add_error(None, "This client is no longer registered.")
            return self.form_invalid(form)
        membership = form.membership()
        project = form.cleaned_data.get("project")
        with transaction.atomic():
            try:
                issued = token_create(
                    organization=membership.organization,
                    user=self.request.user,
                    name=_grant_name(application.name, form.cleaned_data["redirect_uri"]),
                    mode=form.cleaned_data["mode"],
                    scopes=[Scope.READ] if form.cleaned_data["access"] == "read" else [Scope.READ, Scope.WRITE],
                    project_id=uuid.UUID(project) if project else None,
                    kind=TokenKind.OAUTH,
                    oauth_client_id=application.client_id,
                )
            except ToolError as exc:  # a plan limit, a project not in that organization, ...
                form.add_error(None, exc.message)
                return self.form_invalid(form)
            self.mcp_token = issued.token
            # The grant's scopes are what the consent gave, whatever the client asked.
            form.cleaned_data["scope"] = " ".join(issued.token.scopes)
            response = super().form_valid(form)
            if not Grant.objects.filter(mcp_token=issued.token).exists():
                # The toolkit refused (its answer goes back to the client as an error):
                # no credential row stays behind to be counted.
                transaction.set_rollback(True)
        return response

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        mcp_token = getattr(self, "mcp_token", None)
        if mcp_token is not None:
            credentials["mcp_token_id"] = mcp_token.pk  # the validator ties the code to it
        return super().create_authorization_response(request, scopes, credentials, allow)

    def form_invalid(self, form: ConsentForm) -> HttpResponse:
        self.oauth2_data = {
            "redirect_uri": form.data.get("redirect_uri"),
            "client_id": form.data.get("client_id"),
        }
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _grant_name(client_name: str, redirect_uri: str) -> str:
    name = f"{client_name or 'OAuth client'} ({urlsplit(redirect_uri).hostname or 'unknown host'})"
    return name[:100]
