from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services import organization_create
from orchestra.errors import ToolError


class Command(BaseCommand):
    help = "Create an organization (and its sandbox) owned by a user; the user is created if needed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Organization name")
        parser.add_argument("--owner", required=True, help="Owner's email address")
        parser.add_argument("--slug", help="Slug (derived from the name by default)")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["owner"].strip().lower()
        owner = User.objects.filter(email=email).first()
        if owner is None:
            owner = User.objects.create_user(email)  # unusable password until they reset it
            self.stdout.write(f"Created user {email} (no password: use the password reset to set one)")
        try:
            org = organization_create(name=options["name"], owner=owner, slug=options.get("slug"))
        except ToolError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Created organization {org.name} (slug: {org.slug}, id: {org.pk})"))
