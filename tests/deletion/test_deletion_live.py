"""Against a real server: deleting an organization closes its open MCP streams within
a second (the control bus, as for a revoked token), from another process."""

from __future__ import annotations

import asyncio
import time

import pytest

from accounts.deletion import organization_delete
from accounts.models import Organization, User
from orchestra.db import run_db
from tests.acceptance.sse_reader import open_sse

pytestmark = [pytest.mark.acceptance]


async def test_deleting_the_organization_closes_its_streams_within_a_second(live, alice_token, acme) -> None:
    def delete() -> None:
        organization_delete(
            organization=Organization.objects.get(pk=acme.pk), by=User.objects.get(email="alice@example.com")
        )

    async with open_sse(f"{live.url}/mcp/sse", alice_token) as stream:
        assert (await stream.next()).name == "endpoint"  # the stream is registered
        await asyncio.sleep(0.3)  # and the listener is listening
        started = time.monotonic()
        await run_db(delete)
        await asyncio.wait_for(stream.ended.wait(), 5)
        assert time.monotonic() - started < 1.0
