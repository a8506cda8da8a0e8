"""The embedded default's channel layer: Channels' in-memory layer with a bounded sweep."""

import asyncio

import pytest

from chatsite import layers
from chatsite.layers import LocalChannelLayer


async def test_group_send_reaches_every_member_once():
    layer = LocalChannelLayer(capacity=10)
    a, b = await layer.new_channel(), await layer.new_channel()
    for channel in (a, b):
        await layer.group_add("room.1", channel)
    await layer.group_send("room.1", {"type": "chat.event", "n": 1})
    assert await layer.receive(a) == {"type": "chat.event", "n": 1}
    assert await layer.receive(b) == {"type": "chat.event", "n": 1}
    assert layer.channels == {}  # nothing left over


class Clock:
    """The layer's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_expired_messages_are_still_swept_at_most_once_a_second(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(layers, "time", clock)
    layer = LocalChannelLayer(expiry=0, capacity=10)
    stale = await layer.new_channel()
    await layer.group_add("room.1", stale)
    await layer.group_send("room.1", {"type": "chat.event"})  # never received: expires at once
    await layer.group_send("room.2", {"type": "chat.event"})  # within the second: no sweep
    assert stale in layer.groups["room.1"]
    clock.now += layer.sweep_interval
    await layer.group_send("room.2", {"type": "chat.event"})  # the next call sweeps
    assert stale not in layer.groups.get("room.1", {})


# --- production's Redis pub/sub layer --------------------------------------------------------


async def test_pubsub_layer_delivers_a_group_send_once_per_process(redis_server):
    from chatsite.layers import PubSubChannelLayer

    layer = PubSubChannelLayer(hosts=[redis_server.url])
    try:
        hub = await layer.new_channel(prefix="hub")
        await layer.group_add("room.7", hub)
        await layer.group_send("room.7", {"type": "chat.event", "n": 1})
        assert await asyncio.wait_for(layer.receive(hub), 5) == {"type": "chat.event", "n": 1}
    finally:
        await layer.flush()


async def test_pubsub_layer_tells_the_receiver_when_its_subscription_was_reconnected(
    redis_server,
):
    """Redis dropped the subscriber (a restart, a network cut): what was published meanwhile
    is gone, so ``receive`` says so once — the hub then has its connections replay — and the
    re-subscribed groups receive again."""
    import redis.asyncio as aredis

    from chatsite.layers import PubSubChannelLayer, SubscriptionLost

    layer = PubSubChannelLayer(hosts=[redis_server.url])
    admin = aredis.Redis.from_url(redis_server.url)
    try:
        hub = await layer.new_channel(prefix="hub")
        await layer.group_add("room.8", hub)
        await layer.group_send("room.8", {"type": "chat.event", "n": 1})
        assert (await asyncio.wait_for(layer.receive(hub), 5))["n"] == 1
        assert await admin.client_kill_filter(_type="pubsub") >= 1
        with pytest.raises(SubscriptionLost):
            await asyncio.wait_for(layer.receive(hub), 10)
        await layer.group_send("room.8", {"type": "chat.event", "n": 2})
        assert (await asyncio.wait_for(layer.receive(hub), 5))["n"] == 2
    finally:
        await admin.aclose()
        await layer.flush()
