from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import MCPToken, Organization, User
from accounts.services import token_create
from accounts.snippets import mcp_json_snippets
from orchestra.errors import ToolError
from orchestra.ids import parse_uuid
from orchestra.tenancy import tenant_scope


class Command(BaseCommand):
    help = "Create an MCP token. The token is printed once and cannot be shown again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organization slug")
        parser.add_argument("--user", required=True, help="Email of a member of the organization")
        parser.add_argument("--name", default="CLI token", help="A name to recognise the token by")
        parser.add_argument("--mode", choices=["live", "test"], default="live", help="test tokens act in the sandbox")
        parser.add_argument("--read-only", action="store_true", help="Only the read scope")
        parser.add_argument("--project", help="Restrict the token to this project (slug or id)")
        parser.add_argument("--expires-in-days", type=int, help="Expire the token after this many days")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"], is_sandbox=False).first()
        if org is None:
            raise CommandError(f"No organization with slug {options['org']!r}")
        user = User.objects.filter(email=options["user"].strip().lower()).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}")
        days = options.get("expires_in_days")
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive")
        try:
            project_id = self._project_id(org, options["mode"], options.get("project"))
            issued = token_create(
                organization=org,
                user=user,
                name=options["name"],
                mode=options["mode"],
                scopes=["read"] if options["read_only"] else None,
                project_id=project_id,
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ToolError as exc:
            raise CommandError(exc.message) from exc
        token = issued.token
        scope = f", restricted to project {options['project']}" if project_id is not None else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Created token {token.name!r} ({token.mode}, {', '.join(token.scopes)}{scope}), id {token.pk}"
            )
        )
        self.stdout.write("Copy it now; it is not stored and cannot be shown again:\n")
        self.stdout.write(f"    {issued.raw}\n")
        self.stdout.write(mcp_json_snippets(issued.raw))

    @staticmethod
    def _project_id(org: Organization, mode: str, ref: str | None) -> Any:
        """The id of the project named by slug or id, looked up as the tools do: inside the
        organization the token acts in (its sandbox for a test token), so another
        organization's project answers exactly like a missing one."""
        if ref is None:
            return None
        home = org.sandbox if mode == "test" else org
        # The model the token's own foreign key names (identity does not import the
        # projects domain), through its organization-scoped manager.
        projects = MCPToken._meta.get_field("project").related_model
        uid = parse_uuid(ref.strip())
        with tenant_scope(home):
            scoped = projects._default_manager
            rows = scoped.filter(pk=uid) if uid is not None else scoped.filter(slug=ref.strip())
            project_id = rows.values_list("pk", flat=True).first()
        if project_id is None:
            where = f"the sandbox of {org.slug!r}" if mode == "test" else f"organization {org.slug!r}"
            raise CommandError(f"No project {ref!r} in {where} (give its slug or id)")
        return project_id
