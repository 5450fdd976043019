"""URLs of the web face (namespace `web`): sign-up aliases and onboarding from
`people`, the dashboard from `dashboard`."""

from django.urls import path

from dashboard import context
from dashboard.audit import urls as audit_urls
from dashboard.billing import urls as billing_urls
from dashboard.github import urls as github_urls
from dashboard.people import urls as people_urls
from dashboard.portability import urls as portability_urls
from dashboard.workplace import urls as workplace_urls

app_name = "web"
urlpatterns = [
    path("organizations/switch", context.switch_organization, name="switch-organization"),
    *people_urls.urlpatterns,
    *workplace_urls.urlpatterns,
    *github_urls.urlpatterns,
    *billing_urls.urlpatterns,
    *audit_urls.urlpatterns,
    *portability_urls.urlpatterns,
]
