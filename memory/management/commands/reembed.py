"""Re-embed memories and decisions (every embedded model) with the configured provider
(after a change of model)."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from accounts.models import Organization
from memory.embeddings import EmbeddingError, get_provider
from memory.models import Embedded, EmbeddingStatus, embedded_models
from memory.tasks import embed_now


class Command(BaseCommand):
    help = (
        "Compute embeddings for memories and decisions not embedded with the current model (all, or one organization)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organization (slug); its sandbox too")
        parser.add_argument("--batch-size", type=int, default=256)
        parser.add_argument("--all", action="store_true", help="Also re-embed rows already embedded with this model")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] <= 0:
            raise CommandError("--batch-size must be positive")
        org = None
        if options["org"]:
            org = Organization.objects.filter(slug=options["org"], is_sandbox=False).first()
            if org is None:
                raise CommandError(f"No organization with slug {options['org']!r}")
        for model in sorted(embedded_models(), key=lambda m: m._meta.label):
            self._reembed(model, org=org, everything=options["all"], batch_size=options["batch_size"])

    def _reembed(self, model: type[Embedded], *, org: Organization | None, everything: bool, batch_size: int) -> None:
        provider = get_provider()
        label, plural = model._meta.label, str(model._meta.verbose_name_plural)
        rows = model.unscoped.all()
        if org is not None:
            rows = rows.filter(Q(organization=org) | Q(organization__live_organization=org))
        if everything:
            rows.update(embedding_status=EmbeddingStatus.PENDING)
        todo = rows.filter(~Q(embedding_status=EmbeddingStatus.READY) | ~Q(embedding_model=provider.model_id))
        ids = [str(pk) for pk in todo.order_by("created_at").values_list("pk", flat=True)]
        total, done, started = len(ids), 0, time.monotonic()
        self.stdout.write(f"{total} {plural} to embed with {provider.model_id}")
        for start in range(0, total, batch_size):
            batch = ids[start : start + batch_size]
            try:
                embed_now(batch, label)
            except EmbeddingError as exc:
                raise CommandError(f"embedding {plural} failed after {done} of {total}: {exc}") from exc
            done += len(batch)
            self._progress(done, total, started)
        if total:
            sys.stdout.write("\n")
        self.stdout.write(self.style.SUCCESS(f"Embedded {done} {plural}"))

    def _progress(self, done: int, total: int, started: float) -> None:
        width = 30
        filled = int(width * done / total)
        rate = done / max(time.monotonic() - started, 1e-9)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({rate:.0f}/s)", ending="")
        self.stdout.flush()
