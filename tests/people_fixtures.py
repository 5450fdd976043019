"""Fixtures of the people tests, loaded with `pytest_plugins = ["tests.people_fixtures"]`:
Acme with one person of each role and clients signed in as each; a server that sends
its mail to a real SMTP stand-in and signs people in through the GitHub stand-in
(one per test module; tests using it also ask for `transactional_db`, so the rows
they make are committed where the server can see them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization, Role, User
from accounts.services import membership_set
from tests.conftest import start_server, stop_server
from tests.dashboard.people_world import signed_in
from tests.github_standin import GitHubStandIn
from tests.mailbox import Mailbox
from tests.people_live import PeopleServer


@pytest.fixture
def carol(db: Any) -> User:
    return User.objects.create_user("carol@example.com", "pw-carol-123456", name="Carol")


@pytest.fixture
def vera(db: Any) -> User:
    return User.objects.create_user("vera@example.com", "pw-vera-123456", name="Vera")


@pytest.fixture
def team(acme: Organization, alice: User, bob: User, carol: User, vera: User) -> Organization:
    """Acme: alice owner, carol admin, bob member, vera viewer."""
    membership_set(organization=acme, user=carol, role=Role.ADMIN)
    membership_set(organization=acme, user=vera, role=Role.VIEWER)
    return acme


@pytest.fixture
def as_owner(team: Organization, alice: User) -> Client:
    return signed_in(alice)


@pytest.fixture
def as_admin(team: Organization, carol: User) -> Client:
    return signed_in(carol)


@pytest.fixture
def as_member(team: Organization, bob: User) -> Client:
    return signed_in(bob)


@pytest.fixture
def as_viewer(team: Organization, vera: User) -> Client:
    return signed_in(vera)


@pytest.fixture
def as_outsider(globex: Organization, charlie: User) -> Client:
    """Charlie, owner of Globex: another organization's user."""
    return signed_in(charlie)


@pytest.fixture(scope="module")
def people_server(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PeopleServer]:
    mailbox = Mailbox().start()
    github = GitHubStandIn().start()
    env = {
        "EMAIL_URL": mailbox.email_url,
        "DEFAULT_FROM_EMAIL": "Orchestra <orchestra@example.com>",
        "GITHUB_URL": github.url,
        "GITHUB_CLIENT_ID": github.client_id,
        "GITHUB_CLIENT_SECRET": github.client_secret,
    }
    with django_db_blocker.unblock():
        server = start_server(tmp_path_factory.mktemp("people"), env)
    try:
        yield PeopleServer(server=server, mailbox=mailbox, github=github)
    finally:
        stop_server(server)
        github.stop()
        mailbox.stop()
