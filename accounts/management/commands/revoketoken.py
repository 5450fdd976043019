from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import tokens
from accounts.models import MCPToken
from accounts.services import token_revoke
from orchestra.ids import parse_uuid


class Command(BaseCommand):
    help = "Revoke an MCP token, by its id or by the token itself."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", help="The token's id (see the admin) or the raw token")

    def handle(self, *args: Any, **options: Any) -> None:
        value = options["token"].strip()
        uid = parse_uuid(value)
        if uid is not None:
            token = MCPToken.objects.filter(pk=uid).first()
        else:
            parsed = tokens.parse(value)
            token = MCPToken.objects.filter(digest=parsed.digest).first() if parsed else None
        if token is None:
            raise CommandError("No such token")
        already = token.revoked_at is not None
        token_revoke(token=token, by_label="operator (manage.py revoketoken)")
        verb = "was already revoked" if already else "revoked"
        self.stdout.write(self.style.SUCCESS(f"Token {token} {verb}"))
