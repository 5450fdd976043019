from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.seed import seed
from accounts.snippets import mcp_json_snippets


class Command(BaseCommand):
    help = "Create the default data (a demo organization and token). Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed()
        org = result.organization
        self.stdout.write(
            f"Organization {org.name} ({org.slug}): {'created' if result.created_organization else 'exists'}"
        )
        if result.issued is not None:
            self.stdout.write(self.style.SUCCESS("Demo token created. Copy it now; it is shown only this once:\n"))
            self.stdout.write(f"    {result.issued.raw}\n")
            self.stdout.write(mcp_json_snippets(result.issued.raw))
        elif result.existing_token is not None:
            token = result.existing_token
            self.stdout.write(
                f"Demo token exists ({token.prefix}…{token.last_four}); it is never shown twice. "
                "Make another with: python manage.py createtoken --org demo --user demo@orchestra.local"
            )
