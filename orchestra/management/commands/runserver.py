"""`runserver` would serve Django alone (no MCP endpoints, no live feed): point at serve."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Orchestra is served by `manage.py serve` (or `make run`), not runserver."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("args", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        raise CommandError(
            "Orchestra is an ASGI application: serve it with `python manage.py serve` (or `make run`); "
            "runserver would leave out the MCP endpoints and the live feed."
        )
