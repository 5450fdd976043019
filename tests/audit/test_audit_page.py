"""The audit page: owners and admins only, their organization's rows only, filtered,
keyset-paginated and downloadable (CSV or JSON Lines, bounded)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import Organization, Role, User
from accounts.services import membership_set
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import record
from tests.dashboard.people_world import signed_in


def add(org: Organization, action: Action, label: str, *, days_ago: int = 0, target: str = "") -> AuditEvent:
    with transaction.atomic():
        event = record(organization=org, action=action, actor_label=label, target=target, ip_address="192.0.2.1")
    if days_ago:
        AuditEvent.unscoped.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return event


@pytest.fixture
def trail(acme: Organization, globex: Organization) -> dict[str, AuditEvent]:
    return {
        "invite": add(acme, Action.INVITATION_SENT, "alice@example.com", days_ago=10, target="dana@example.com"),
        "token": add(acme, Action.TOKEN_CREATED, "bob@example.com", target="laptop"),
        "theirs": add(globex, Action.TOKEN_CREATED, "charlie@example.com", target="globex-secret-token"),
    }


def test_owners_and_admins_read_members_and_viewers_get_403(alice: User, bob: User, acme, trail) -> None:
    assert signed_in(alice).get("/audit/").status_code == 200
    for role, status in ((Role.ADMIN, 200), (Role.MEMBER, 403), (Role.VIEWER, 403)):
        membership_set(organization=acme, user=bob, role=role)
        client = signed_in(bob)
        assert client.get("/audit/").status_code == status, role
        assert client.get("/audit/export?format=csv").status_code == status, role


def test_another_organizations_rows_are_absent(alice: User, trail) -> None:
    client = signed_in(alice)
    page = client.get("/audit/").content.decode()
    assert "dana@example.com" in page and "laptop" in page
    assert "globex-secret-token" not in page and "charlie@example.com" not in page
    for kind in ("csv", "jsonl"):
        body = b"".join(client.get(f"/audit/export?format={kind}").streaming_content).decode()
        assert "laptop" in body and "globex-secret-token" not in body


def test_details_read_as_words(alice: User, acme: Organization) -> None:
    with transaction.atomic():
        event = record(
            organization=acme,
            action=Action.TOKEN_CREATED,
            actor_label="alice@example.com",
            details={"mode": "live", "scopes": ["read", "write"], "project": None},
        )
    page = signed_in(alice).get("/audit/").content.decode()
    cell = page.split(f'id="audit-{event.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "mode: live · scopes: read, write</td>" in cell  # no brackets, no trailing separator


def test_filters_by_action_person_and_dates(alice: User, trail) -> None:
    client = signed_in(alice)
    by_action = client.get("/audit/", {"action": Action.TOKEN_CREATED}).content.decode()
    assert "laptop" in by_action and "dana@example.com" not in by_action
    by_person = client.get("/audit/", {"person": "ALICE@"}).content.decode()
    assert "dana@example.com" in by_person and "laptop" not in by_person
    today = timezone.localdate()
    recent = client.get("/audit/", {"since": str(today - timedelta(days=2))}).content.decode()
    assert "laptop" in recent and "dana@example.com" not in recent
    older = client.get("/audit/", {"until": str(today - timedelta(days=5))}).content.decode()
    assert "dana@example.com" in older and "laptop" not in older


@pytest.mark.parametrize(
    "query",
    [
        {"action": "nope"},
        {"since": "2026-02-30"},
        {"since": "2026-05-02", "until": "2026-05-01"},
        {"since": "2000-01-01", "until": "2026-01-01"},
        {"person": "x" * 300},
    ],
)
def test_bad_filters_are_a_400(alice: User, acme, query: dict[str, str]) -> None:
    client = signed_in(alice)
    assert client.get("/audit/", query).status_code == 400
    assert client.get("/audit/export", {**query, "format": "csv"}).status_code == 400


def test_pages_are_keyset_pages(alice: User, acme: Organization) -> None:
    for i in range(55):
        add(acme, Action.TOKEN_CREATED, "alice@example.com", target=f"token-{i:02d}")
    client = signed_in(alice)  # a sign-in: one more row
    first = client.get("/audit/")
    cursor = first.context["next_cursor"]
    assert len(first.context["rows"]) == 50 and cursor
    second = client.get("/audit/", {"cursor": cursor})
    assert len(second.context["rows"]) == 6 and second.context["next_cursor"] is None
    seen = {e.pk for e in first.context["rows"]} | {e.pk for e in second.context["rows"]}
    assert seen == set(AuditEvent.unscoped.filter(organization=acme).values_list("pk", flat=True))
    assert client.get("/audit/", {"cursor": "forged"}).status_code == 400


def test_downloads_hold_the_filtered_rows_bounded(alice: User, acme: Organization, settings, trail) -> None:
    add(acme, Action.TOKEN_REVOKED, "alice@example.com", target='=HYPERLINK("http://evil")')
    client = signed_in(alice)
    response = client.get("/audit/export", {"format": "jsonl", "action": Action.TOKEN_CREATED})
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [(r["action"], r["actor"], r["target"], r["ip_address"]) for r in lines] == [
        ("token.created", "bob@example.com", "laptop", "192.0.2.1")
    ]
    rows = list(csv.reader(io.StringIO(b"".join(client.get("/audit/export?format=csv").streaming_content).decode())))
    assert rows[0] == ["created_at", "action", "actor", "target", "ip_address", "details"]
    # The header, then acme's rows newest first: the sign-in, the formula, laptop, the invitation.
    assert [row[1] for row in rows[1:]] == ["member.signed_in", "token.revoked", "token.created", "invitation.sent"]
    assert rows[2][3].startswith("'=HYPERLINK")  # a formula is text to a spreadsheet
    settings.AUDIT_EXPORT_MAX_ROWS = 2
    bounded = list(csv.reader(io.StringIO(b"".join(client.get("/audit/export?format=csv").streaming_content).decode())))
    assert len(bounded) == 3
    assert client.get("/audit/export?format=xml").status_code == 400


def test_operators_read_the_trail_in_the_admin_but_cannot_change_it(acme: Organization, trail: Any) -> None:
    operator = Client()
    operator.force_login(User.objects.create_superuser("ops@example.com", "pw-ops-123456"))
    listing = operator.get("/admin/audit/auditevent/").content.decode()
    assert "laptop" in listing and "globex-secret-token" in listing
    event = trail["token"]
    assert operator.get("/admin/audit/auditevent/add/").status_code == 403
    operator.post(f"/admin/audit/auditevent/{event.pk}/change/", {"target": "changed"})
    operator.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert AuditEvent.unscoped.get(pk=event.pk).target == "laptop"
