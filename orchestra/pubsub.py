"""channels-redis' pub/sub layer, plus a send that says whether anyone received it.

Redis PUBLISH delivers to whoever is subscribed at that instant and drops the message
otherwise. A legacy SSE stream's process is subscribed to the stream's channel, except
for the half second after Redis comes back, while its subscription reconnects: a
message posted then was answered 202 and never arrived. PUBLISH returns how many
subscribers got the message; `send_delivered` hands that back, so the POST is only
acknowledged once the stream's process has the message (else 503: the client tries
again).

This reaches into channels-redis 4.3's shard connection (pinned in requirements.txt;
tests/faults/test_redis_outage.py checks the behaviour).
"""

from __future__ import annotations

from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer


class CheckedRedisPubSubLayer(RedisPubSubChannelLayer):
    async def send_delivered(self, channel: str, message: dict[str, Any]) -> bool:
        """send(), and whether a subscriber received the message."""
        layer = self._get_layer()
        shard = layer._get_shard(channel)
        async with shard._lock:
            shard._ensure_redis()
            receivers = await shard._redis.publish(channel, self.serialize(message))
        return bool(receivers)


async def send_delivered(layer: Any, channel: str, message: dict[str, Any]) -> bool:
    """Send `message` to `channel`; whether it was received (always True for layers that
    cannot lose it, like the in-memory one)."""
    if isinstance(layer, CheckedRedisPubSubLayer):
        return await layer.send_delivered(channel, message)
    await layer.send(channel, message)
    return True
