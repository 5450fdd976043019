"""Django's migrate, plus `--seed` to create the default data afterwards."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandParser
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS, connections


class Command(MigrateCommand):
    help = MigrateCommand.help + " With --seed, create the default data afterwards."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--seed", action="store_true", help="Run `seed` after migrating.")

    def handle(self, *args: Any, **options: Any) -> None:
        seed = options.pop("seed", False)
        # Requests get a statement timeout (DB_STATEMENT_TIMEOUT_MS); a migration that
        # builds an index on a big table (an HNSW graph of 100,000 memories takes
        # minutes) must not. Restored afterwards: the connection may go back to a pool.
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
        try:
            super().handle(*args, **options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
        if seed:
            call_command("seed", stdout=self.stdout, stderr=self.stderr)
