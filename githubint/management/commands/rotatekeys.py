"""Re-encrypt every stored secret with the newest key of ENCRYPTION_KEYS.

Put the new key first in ENCRYPTION_KEYS (keep the old ones after it), restart, run
this, then drop the old keys. Safe to run again: rows already under the newest key
are rewritten to the same plaintext."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from githubint.crypto import SecretUnreadable, reencrypt
from githubint.models import GitHubConnection

BATCH = 200


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (GitHub tokens) with the first key of ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        # Every organization's rows, on purpose: an operator command.
        rows = GitHubConnection.unscoped.exclude(token_encrypted="").order_by("pk")
        total = rows.count()
        done = 0
        unreadable: list[str] = []
        self.stdout.write(f"Re-encrypting {total} secret(s) with the newest key")
        for pk in list(rows.values_list("pk", flat=True)):
            with transaction.atomic():
                row = GitHubConnection.unscoped.select_for_update().filter(pk=pk).first()
                if row is None or not row.token_encrypted:
                    continue
                try:
                    row.token_encrypted = reencrypt(row.token_encrypted)
                except SecretUnreadable:
                    unreadable.append(str(pk))
                    continue
                GitHubConnection.unscoped.filter(pk=pk).update(token_encrypted=row.token_encrypted)
            done += 1
            if done % BATCH == 0 or done == total:
                self.stdout.write(f"  {done}/{total}")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secret(s) could not be decrypted with any key "
                f"(connections {', '.join(unreadable)}); "
                "keep the key they were written with in ENCRYPTION_KEYS"
            )
        self.stdout.write(self.style.SUCCESS(f"Done: {done} secret(s) re-encrypted."))
