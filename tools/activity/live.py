"""The live activity feed: activity rows reach the dashboard as they are written.

Publishing: activity_record schedules `publish_on_commit`, so a row is announced only
once its transaction has committed (a rolled-back tool call announces nothing). The
announcement goes to the organization's group on the channel layer (in-memory in the
embedded default, Redis with REDIS_URL, so any process's browsers hear it) and carries
ids only. Publishing never fails a tool call: errors are logged and dropped.

Listening: `ActivityFeedConsumer` (WebSocket, /ws/activity/?organization=<id>) accepts
a signed-in user who is a member of that organization, joins its group, and for each
announcement re-checks the membership, loads the row inside the organization's tenant
scope and sends it rendered by the dashboard's own row template (escaped by Django)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from orchestra import outages
from orchestra.db import run_db, serving_loop
from orchestra.ids import parse_uuid
from orchestra.tenancy import tenant_scope
from tools.activity.models import Activity

logger = logging.getLogger(__name__)

EVENT_TYPE = "activity.created"
PUBLISH_TIMEOUT_SECONDS = 2.0
ROW_TEMPLATE = "web/dashboard/activity/_row.html"
# Close codes (sent only after accept; a refusal before it is an HTTP 403).
CLOSE_NOT_A_MEMBER = 4403


def group_name(organization_id: Any) -> str:
    """The channel-layer group of one organization's feed."""
    return f"activity.{organization_id}"


def publish_on_commit(activity: Activity) -> None:
    """Announce `activity` to its organization's feed once the transaction commits."""
    event = {
        "type": EVENT_TYPE,
        "id": str(activity.pk),
        "project_id": None if activity.project_id is None else str(activity.project_id),
        # What changed, so a page showing it (the project board) can refresh it.
        "target_type": activity.target_type,
        "target_id": None if activity.target_id is None else str(activity.target_id),
    }
    organization_id = activity.organization_id
    transaction.on_commit(lambda: publish(organization_id, event), robust=True)


def publish(organization_id: Any, event: dict[str, Any]) -> None:
    """Send `event` to the organization's group; never raises."""
    layer = get_channel_layer()
    if layer is None:
        return
    if settings.REDIS_URL and not outages.outage(outages.REDIS).should_try():
        return  # Redis is away: browsers see the row on their next reload
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is not None:
            # Sync code inside an event loop's own thread (only possible with
            # DJANGO_ALLOW_ASYNC_UNSAFE, as in browser tests): send from that loop.
            task = loop.create_task(_send(layer, group_name(organization_id), event))
            _sending.add(task)
            task.add_done_callback(_sent)
            return
        serving = serving_loop.get()
        if serving is not None and not serving.is_closed():
            # A request's worker thread (orchestra.db.run_db): the serving loop sends it
            # while the answer goes out; the request does not wait for the feed.
            future = asyncio.run_coroutine_threadsafe(_send(layer, group_name(organization_id), event), serving)
            future.add_done_callback(_sent_elsewhere)
            return
        async_to_sync(_send)(layer, group_name(organization_id), event)
    except Exception as exc:
        # The row is written either way; a browser that missed it sees it on reload.
        if outages.report(exc) is None:
            logger.warning("activity %s could not be published to the live feed", event.get("id"), exc_info=True)


async def _send(layer: Any, group: str, event: dict[str, Any]) -> None:
    await asyncio.wait_for(layer.group_send(group, event), timeout=PUBLISH_TIMEOUT_SECONDS)


# Sends scheduled on a running loop, kept until done (the loop holds tasks weakly).
_sending: set[asyncio.Task[None]] = set()


def _sent_elsewhere(future: concurrent.futures.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("an activity could not be published to the live feed", exc_info=future.exception())


def _sent(task: asyncio.Task[None]) -> None:
    _sending.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("an activity could not be published to the live feed", exc_info=task.exception())


def is_member(user_id: Any, organization_id: Any) -> bool:
    """Whether the user is (still) an active member of that live, non-suspended
    organization: the same rule as the dashboard's organization_required."""
    from accounts.models import Membership

    return Membership.objects.filter(
        user_id=user_id,
        user__is_active=True,
        organization_id=organization_id,
        organization__is_sandbox=False,
        organization__suspended_at__isnull=True,
    ).exists()


def feed_row_html(user_id: Any, organization_id: Any, activity_id: Any) -> str | None:
    """The rendered row, "" when it no longer exists, None when the user may no longer
    see the organization."""
    if not is_member(user_id, organization_id):
        return None
    with tenant_scope(organization_id):
        row = Activity.objects.select_related("actor_user", "agent", "project").filter(pk=activity_id).first()
        if row is None:
            return ""
        return render_to_string(ROW_TEMPLATE, {"activity": row, "fresh": True})


class ActivityFeedConsumer(AsyncWebsocketConsumer):
    """One browser tab watching one organization's feed (optionally one project's)."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        organization_id = parse_uuid((query.get("organization") or [""])[0])
        project = (query.get("project") or [""])[0]
        project_id = parse_uuid(project) if project else None
        if user is None or not user.is_authenticated or organization_id is None or (project and project_id is None):
            await self.close()
            return
        if not await run_db(is_member, user.pk, organization_id):
            await self.close()
            return
        self.user_id = user.pk
        self.organization_id = organization_id
        self.project_id = None if project_id is None else str(project_id)
        self.group = group_name(organization_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The feed only talks one way: anything a browser sends is ignored."""

    async def activity_created(self, event: dict[str, Any]) -> None:
        if self.project_id is not None and event.get("project_id") != self.project_id:
            return
        activity_id = parse_uuid(str(event.get("id", "")))
        if activity_id is None:
            return
        html = await run_db(feed_row_html, self.user_id, self.organization_id, activity_id)
        if html is None:
            await self.close(code=CLOSE_NOT_A_MEMBER)
            return
        if html:
            target = {"target_type": str(event.get("target_type") or ""), "target_id": event.get("target_id")}
            await self.send(text_data=json.dumps({"id": str(activity_id), "html": html, **target}))
