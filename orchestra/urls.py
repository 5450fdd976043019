from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponseBase
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView
from oauth2_provider import urls as oauth2_urls
from oauth2_provider import views as oauth2_views

from dashboard.people.consent import ConsentView
from githubint.webhooks import github_webhook
from oauth.views import JsonRevokeTokenView, JsonTokenView, RegistrationView
from orchestra.health import healthz, readyz
from tools.mcp.rest import ToolCallView

# The toolkit's endpoints keep its namespace (its metadata views find them by name):
# RFC 8414 and RFC 9728 metadata at the root (and at /.well-known/…/mcp), the consent
# page as the authorization endpoint, token, revocation and registration.
oauth_patterns: Any = (
    [
        *oauth2_urls.metadata_urlpatterns,
        path("oauth/authorize/", ConsentView.as_view(), name="authorize"),
        path("oauth/token/", JsonTokenView.as_view(), name="token"),
        path("oauth/revoke/", JsonRevokeTokenView.as_view(), name="revoke-token"),
        path("oauth/register/", RegistrationView.as_view(), name="dcr-register"),
        # RFC 7592: a client reads, updates or deletes its own registration with the
        # registration access token it was given (never an MCP bearer: accounts.auth).
        path(
            "oauth/register/<str:client_id>/",
            oauth2_views.DynamicClientRegistrationManagementView.as_view(),
            name="dcr-register-management",
        ),
    ],
    "oauth2_provider",
)

_signup = RedirectView.as_view(pattern_name="account_signup", query_string=True)
_registration = RegistrationView.as_view()


@csrf_exempt
def register(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """/register is the sign-up page for people (GET). A client that found no metadata
    POSTs its registration here (the MCP spec's default endpoint): it gets the real
    registration endpoint's JSON answer, never an HTML page. No form posts here."""
    if request.method == "POST":
        return _registration(request)
    return _signup(request)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers and crawlers ask for /favicon.ico whatever the page links: the SVG answers.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("", include(oauth_patterns)),
    path("register", register),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/tools/<str:name>", ToolCallView.as_view(), name="tool-call"),
    path("webhooks/github/", github_webhook, name="github-webhook"),
    # Stripe's webhooks: one route per dj-stripe WebhookEndpoint row (404 while billing is off).
    path("stripe/", include("billing.stripe_urls", namespace="djstripe")),
    path(
        "api/schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="api-schema"
    ),
    path("", include("dashboard.urls")),
]
