"""The admin bypasses the writing services (an operator may pass a limit on purpose),
so what an operator adds or deletes there is recounted: the counters stay true."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, User
from billing.plans import Resource
from billing.usage import used
from tests.conftest import ok


@pytest.fixture
def operator(db: Any) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@example.com", "pw-ops-123456"))
    return client


def test_deleting_rows_in_the_admin_gives_their_usage_back(
    operator: Client, call: Any, alice_id: Any, acme: Organization, bob: User
) -> None:
    project = ok(call(alice_id, "create_project", name="Doomed"))
    memory = ok(call(alice_id, "store_memory", content="forget me", scope="organization"))["memory"]
    assert used(acme.pk, Resource.PROJECTS) == 1 and used(acme.pk, Resource.MEMORY_BYTES) == len("forget me")
    for model, pk in (("projects/project", project["id"]), ("memory/memory", memory["id"])):
        response = operator.post(reverse(f"admin:{model.replace('/', '_')}_delete", args=[pk]), {"post": "yes"})
        assert response.status_code == 302, response.content[:500]
    assert used(acme.pk, Resource.PROJECTS) == 0 and used(acme.pk, Resource.MEMORY_BYTES) == 0
    # A member removed in the admin frees the seat; deleting a person frees theirs too.
    assert used(acme.pk, Resource.MEMBERS) == 2
    bob_membership = Membership.objects.get(organization=acme, user=bob)
    changelist = reverse("admin:accounts_membership_changelist")
    response = operator.post(
        changelist, {"action": "delete_selected", "_selected_action": [str(bob_membership.pk)], "post": "yes"}
    )
    assert response.status_code == 302
    assert used(acme.pk, Resource.MEMBERS) == 1 and used(acme.pk, Resource.TOKENS) == 1
    alice = User.objects.get(email="alice@example.com")
    operator.post(reverse("admin:accounts_user_delete", args=[alice.pk]), {"post": "yes"})
    assert used(acme.pk, Resource.MEMBERS) == 0 and used(acme.pk, Resource.TOKENS) == 0
