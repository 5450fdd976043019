"""`manage.py recountusage [--org SLUG]`: set the usage counters from the rows
themselves (an operator's repair, after rows were changed outside the services).
This counts rows, so it costs what the organization holds; writers are never slowed
by it beyond the moment each organization's counters are written."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.invitations import invitations_lapse
from accounts.models import Organization
from billing.recount import recount
from billing.selectors import meters


class Command(BaseCommand):
    help = "Recount plan usage (members, projects, tokens, agents, tasks this month, memory bytes) from the rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organization (slug) and its sandbox")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("slug")
        if options.get("org"):
            slug = options["org"].strip()
            live = Organization.objects.filter(slug=slug, is_sandbox=False).first()
            if live is None:
                raise CommandError(f"No organization with slug {slug!r}")
            organizations = organizations.filter(pk=live.pk) | organizations.filter(live_organization=live)
        rows = list(organizations)
        total = len(rows)
        self.stdout.write(f"Recounting {total} organization(s) (sandboxes included)")
        for n, org in enumerate(rows, start=1):
            with transaction.atomic():
                # Invitations that expired give their seats back first, as the
                # counters only count open ones.
                invitations_lapse(organization_id=org.pk)
                recount(organization_ids=[org.pk])
            shown = ", ".join(
                f"{m.resource.value} {m.used}" + ("" if m.limit is None else f"/{m.limit}") for m in meters(org)
            )
            self.stdout.write(f"[{n}/{total}] {org.slug}: {shown}")
        self.stdout.write(self.style.SUCCESS(f"Recounted {total} organization(s)"))
