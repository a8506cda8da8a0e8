"""The embedded default's channel layer: Channels' in-memory layer with a bounded sweep."""

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
