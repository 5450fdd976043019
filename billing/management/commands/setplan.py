"""`manage.py setplan --org SLUG --plan team [--until YYYY-MM-DD]`: an operator's grant
of a plan (support, partners, a self-hoster who wants limits), with or without Stripe.
`--plan ""` or `--clear` ends a grant: the organization then has its subscription's
plan, or its base plan (free, or self-hosted for one made while billing was off)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from billing.plans import PlanCode
from billing.selectors import plan_for
from billing.services import plan_grant
from orchestra.errors import ToolError


class Command(BaseCommand):
    help = "Grant an organization a plan by hand (until a date, or for good); --clear ends the grant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organization slug")
        plans = ", ".join(code.value for code in PlanCode)
        parser.add_argument("--plan", help=f"One of {plans}; an empty value ends the grant")
        parser.add_argument("--until", help="Last day of the grant, YYYY-MM-DD (UTC; the grant ends after it)")
        parser.add_argument("--clear", action="store_true", help="End the grant")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["org"].strip()
        org = Organization.objects.filter(slug=slug, is_sandbox=False).first()
        if org is None:
            raise CommandError(f"No organization with slug {slug!r}")
        plan = options.get("plan")
        if options["clear"]:
            if plan:
                raise CommandError("Give either --plan or --clear, not both")
            plan = ""
        if plan is None:
            raise CommandError("Give --plan (free, pro, team, enterprise, self_hosted) or --clear")
        plan = plan.strip().lower()
        until = _end_of_day(options["until"]) if options.get("until") else None
        if until is not None and not plan:
            raise CommandError("--until goes with a plan, not with ending a grant")
        try:
            plan_grant(organization=org, plan=plan, until=until, by_label="operator (manage.py setplan)")
        except ToolError as exc:
            raise CommandError(exc.message) from exc
        now = plan_for(org)
        if plan:
            until_text = f" until the end of {options['until']} (UTC)" if until else " until it is cleared"
            self.stdout.write(self.style.SUCCESS(f"{org.slug} is on the {now.name} plan{until_text}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"Grant ended: {org.slug} is on the {now.name} plan"))


def _end_of_day(value: str) -> datetime:
    """The grant lasts through the day given (UTC): it ends at the next midnight."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise CommandError(f"--until must be a date, YYYY-MM-DD (got {value!r})") from exc
    end = datetime.combine(day, time.min, tzinfo=UTC) + timedelta(days=1)
    if end <= datetime.now(UTC):
        raise CommandError(f"--until {value} is in the past")
    return end
