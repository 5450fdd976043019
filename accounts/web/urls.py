"""URLs of the web face (namespace `web`): sign-up aliases and onboarding from
`people`, the dashboard from `dashboard`."""

from django.urls import path

from accounts.web import context
from accounts.web.dashboard import urls as dashboard_urls
from accounts.web.people import urls as people_urls

app_name = "web"
urlpatterns = [
    path("organizations/switch", context.switch_organization, name="switch-organization"),
    *people_urls.urlpatterns,
    *dashboard_urls.urlpatterns,
]
