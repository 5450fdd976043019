"""Link a GitHub App installation to an organization, for operators and scripts.

The installation is checked with the App's own credentials (its JWT): it must exist
for this App. An installation links to exactly one organization."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from githubint.client import app_configured
from githubint.install import app_installation
from githubint.services import connection_link_installation
from orchestra.actor import SYSTEM
from orchestra.errors import ToolError


class Command(BaseCommand):
    help = "Link a GitHub App installation to an Orchestra organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--installation-id", required=True, type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if not app_configured():
            raise CommandError(
                "the GitHub App is not configured: set GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_SLUG"
            )
        organization = Organization.objects.filter(slug=options["org"], is_sandbox=False).first()
        if organization is None:
            raise CommandError(f"no organization {options['org']!r}")
        try:
            installation = app_installation(options["installation_id"])
            account = installation.get("account") or {}
            connection = connection_link_installation(
                actor=SYSTEM,
                organization=organization,
                installation_id=options["installation_id"],
                account_login=str(account.get("login", "")),
                account_type=str(account.get("type", installation.get("target_type", ""))),
                suspended=bool(installation.get("suspended_at")),
            )
        except ToolError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Linked installation {connection.installation_id} ({connection.account_login}) to {organization.slug}"
                + (" (suspended on GitHub)" if connection.status == "suspended" else "")
            )
        )
