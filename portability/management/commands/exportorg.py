"""manage.py exportorg --org SLUG [--project ID] [--with-vectors] [--output FILE]"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Organization
from orchestra.actor import SYSTEM
from orchestra.errors import ToolError
from orchestra.tenancy import tenant_scope
from portability.audit import portability_recorded
from portability.exporting import export_write
from portability.progress import ProgressBar
from tools.projects.selectors import project_get


class Command(BaseCommand):
    help = "Export an organization (or one of its projects) as JSON Lines, to a file or stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organization's slug")
        parser.add_argument("--project", help="Only this project (id or slug)")
        parser.add_argument("--with-vectors", action="store_true", help="Include the embedding vectors")
        parser.add_argument("--output", help="The file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"no organization with the slug {options['org']!r}")
        project_id = None
        if options.get("project"):
            with tenant_scope(organization):
                try:
                    project_id = project_get(options["project"]).pk
                except ToolError as exc:
                    raise CommandError(exc.message) from exc
        progress = ProgressBar(lambda text: self.stderr.write(text, ending=""), tty=self.stderr.isatty())
        kwargs = {"organization": organization, "project_id": project_id, "with_vectors": options["with_vectors"]}
        if options.get("output"):
            with Path(options["output"]).open("wb") as out:
                counts = export_write(out, progress=progress, **kwargs)
        else:
            counts = export_write(sys.stdout.buffer, progress=progress, **kwargs)
            sys.stdout.buffer.flush()
        with transaction.atomic():  # (the audit trail records inside a transaction)
            portability_recorded(action="export", organization=organization, actor=SYSTEM, counts=counts)
        self.stderr.write(f"Exported {sum(counts.values())} rows of {organization.slug}.")
