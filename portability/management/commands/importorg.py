"""manage.py importorg --org SLUG FILE [--dry-run]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from orchestra.actor import SYSTEM
from portability.importing import ImportRefused, import_path
from portability.progress import ProgressBar


class Command(BaseCommand):
    help = "Import an Orchestra export (JSON Lines) into an organization; again, it changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The export file")
        parser.add_argument("--org", required=True, help="The slug of the organization to import into")
        parser.add_argument("--dry-run", action="store_true", help="Check and write, then roll everything back")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"no organization with the slug {options['org']!r}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no file at {path}")
        try:
            report = import_path(
                organization=organization,
                path=path,
                actor=SYSTEM,
                dry_run=options["dry_run"],
                progress=ProgressBar(lambda text: self.stderr.write(text, ending=""), tty=self.stderr.isatty()),
            )
        except ImportRefused as refused:
            for problem in refused.problems:
                self.stderr.write(str(problem))
            raise CommandError("nothing was imported") from None
        verb = "Would import" if report.dry_run else "Imported"
        made = ", ".join(f"{n} {kind}" for kind, n in report.created.items()) or "nothing new"
        self.stdout.write(f"{verb} into {organization.slug}: {made}; {report.skipped} already there.")
        if report.reembed:
            self.stdout.write(f"{report.reembed} rows are embedded again with this server's model.")
