"""The embedded default's channel layer: Channels' in-memory layer with a bounded sweep."""

import asyncio

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


async def test_expired_messages_are_still_swept_at_most_once_a_second():
    layer = LocalChannelLayer(expiry=0, capacity=10)
    layer.sweep_interval = 0.05
    stale = await layer.new_channel()
    await layer.group_add("room.1", stale)
    await layer.group_send("room.1", {"type": "chat.event"})  # never received: expires at once
    await asyncio.sleep(0.06)
    await layer.group_send("room.2", {"type": "chat.event"})  # the next call sweeps
    assert stale not in layer.groups.get("room.1", {})
