"""Find the near-duplicate memories already stored and merge them (as the embedding
task does for new ones: memory.tasks.merge_near_duplicate), or only list them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from memory.duplicates import duplicate_pairs
from memory.models import Memory
from memory.tasks import NEAR_DUPLICATE


class Command(BaseCommand):
    help = (
        f"Merge memories that say what an older memory of the same scope says (cosine >= {NEAR_DUPLICATE}, "
        "same numbers): archived with duplicate_of, tags joined. --dry-run only lists them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organization (slug)")
        parser.add_argument("--dry-run", action="store_true", help="List the pairs, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = Memory.unscoped.all()
        if options["org"]:
            org = Organization.objects.filter(slug=options["org"]).first()
            if org is None:
                raise CommandError(f"No organization with slug {options['org']!r}")
            rows = rows.filter(organization=org)
        found = 0
        for pair in duplicate_pairs(rows, merge=not options["dry_run"]):
            found += 1
            self.stdout.write(f"{pair.memory.pk} -> {pair.original.pk}")
        verb = "would merge" if options["dry_run"] else "merged"
        self.stdout.write(f"{found} near-duplicate memories {verb}")
