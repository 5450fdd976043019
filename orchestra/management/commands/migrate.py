"""Django's migrate, plus `--seed` to create the default data afterwards."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandParser
from django.core.management.commands.migrate import Command as MigrateCommand


class Command(MigrateCommand):
    help = MigrateCommand.help + " With --seed, create the default data afterwards."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--seed", action="store_true", help="Run `seed` after migrating.")

    def handle(self, *args: Any, **options: Any) -> None:
        seed = options.pop("seed", False)
        super().handle(*args, **options)
        if seed:
            call_command("seed", stdout=self.stdout, stderr=self.stderr)
