"""Channel layers: the embedded default's, and production's Redis pub/sub with reconnects
made known (``PubSubChannelLayer``, at the end).

The embedded default is Channels' in-memory layer, made to scale with rooms.

``InMemoryChannelLayer`` sweeps for expired messages and memberships by walking every group
and every channel on each ``group_send`` and ``receive``, and starts one task per member
for each ``group_send``. With the hub (one channel per process; one group per room and per
user) the walk grows with the number of rooms, not with the message: at 500 messages/s over
250 direct rooms it was half of the server's time (bench/README.md). Here the sweep runs at
most once a second, which keeps its meaning (expiry is measured in tens of seconds), and
``group_send`` writes to each member's queue directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts
from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)


class LocalChannelLayer(InMemoryChannelLayer):
    sweep_interval = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_interval
        super()._clean_expired()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)
            except ChannelFull:  # as Channels does, but said: receivers will see a gap
                log.warning("channel layer: %s full, a message to %s dropped", channel, group)


# --- Redis: publish/subscribe, with reconnects made known ----------------------------------


class SubscriptionLost(ConnectionError):
    """The layer's subscriber connection to Redis was re-established: whatever was published
    meanwhile never arrived. Raised once by ``receive`` on each of the process's channels."""


_LOST = object()  # put on every channel's queue when the subscriber connection comes back


class _PubSub(PubSub):
    """redis-py's PubSub, which re-subscribes on reconnect, and now also tells its shard."""

    shard: _Shard

    async def on_connect(self, connection: Any) -> None:
        await super().on_connect(connection)
        self.shard.reconnected()


class _Shard(RedisSingleShardConnection):
    def _ensure_redis(self) -> None:
        if self._redis is None:
            super()._ensure_redis()
            redis: Any = self._redis  # set by the call above (channels-redis is untyped)
            pubsub = _PubSub(redis.connection_pool, event_dispatcher=redis._event_dispatcher)
            pubsub.shard = self
            self._pubsub = pubsub

    def reconnected(self) -> None:
        log.warning("channel layer: pub/sub connection to %s re-established", self.host)
        for queue in self.channel_layer.channels.values():
            queue.put_nowait(_LOST)


UNSUBSCRIBE_TIMEOUT = 2.0  # seconds a cancelled receiver waits to unsubscribe its channel


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(hosts, *args, **kwargs)
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]

    async def receive(self, channel: str) -> Any:
        """As channels-redis' (which unsubscribes a channel whose receiver is cancelled),
        except for the ``SubscriptionLost`` marker."""
        if channel not in self.channels:
            await self._subscribe_to_channel(channel)
        queue = self.channels[channel]
        try:
            message = await queue.get()
        except (TimeoutError, asyncio.CancelledError, GeneratorExit):
            if channel in self.channels:
                del self.channels[channel]
                try:  # bounded: with Redis away this would wait for it forever
                    async with asyncio.timeout(UNSUBSCRIBE_TIMEOUT):
                        await self._get_shard(channel).unsubscribe(channel)
                except BaseException:
                    log.exception("channel layer: unsubscribing %s failed", channel)
            raise
        if message is _LOST:
            raise SubscriptionLost("pub/sub reconnected: broadcasts may have been missed")
        return self.channel_layer.deserialize(message)


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """channels-redis' pub/sub layer (one ``PUBLISH`` per ``group_send``; each process
    subscribes to its rooms' channels), except that a dropped and re-established subscriber
    connection is no longer silent: ``receive`` raises ``SubscriptionLost`` once, and the
    hub re-adds its groups and has each connection replay what it may have missed (as it
    does when the core layer fails). Chosen over ``RedisChannelLayer`` by measurement:
    bench/README.md, "Across processes"."""

    def _get_layer(self) -> Any:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer
