"""Find the near-duplicate memories already stored and merge them (as the embedding
task does for new ones: memory.tasks.merge_near_duplicate), or only list them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from memory.models import EmbeddingStatus, Memory
from memory.tasks import NEAR_DUPLICATE, merge_near_duplicate, near_duplicate_of


class Command(BaseCommand):
    help = (
        f"Merge memories that say what an older memory of the same scope says (cosine >= {NEAR_DUPLICATE}, "
        "same numbers): archived with duplicate_of, tags joined. --dry-run only lists them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organization (slug)")
        parser.add_argument("--dry-run", action="store_true", help="List the pairs, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = Memory.unscoped.filter(
            embedding_status=EmbeddingStatus.READY, duplicate_of__isnull=True, archived=False, keep_separate=False
        )
        if options["org"]:
            org = Organization.objects.filter(slug=options["org"]).first()
            if org is None:
                raise CommandError(f"No organization with slug {options['org']!r}")
            rows = rows.filter(organization=org)
        found = 0
        # Oldest first: each memory is compared with the ones stored before it, so a
        # chain of look-alikes ends up merged into its oldest member.
        for pk in rows.order_by("created_at", "pk").values_list("pk", flat=True).iterator():
            if options["dry_run"]:
                row = Memory.unscoped.defer("search_vector").get(pk=pk)
                twin = near_duplicate_of(row)
            else:
                twin = merge_near_duplicate(pk)
            if twin is not None:
                found += 1
                self.stdout.write(f"{pk} -> {twin.pk}")
        verb = "would merge" if options["dry_run"] else "merged"
        self.stdout.write(f"{found} near-duplicate memories {verb}")
