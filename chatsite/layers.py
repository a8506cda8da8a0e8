"""The embedded default's channel layer: Channels' in-memory layer, made to scale with rooms.

``InMemoryChannelLayer`` sweeps for expired messages and memberships by walking every group
and every channel on each ``group_send`` and ``receive``, and starts one task per member
for each ``group_send``. With the hub (one channel per process; one group per room and per
user) the walk grows with the number of rooms, not with the message: at 500 messages/s over
250 direct rooms it was half of the server's time (bench/README.md). Here the sweep runs at
most once a second, which keeps its meaning (expiry is measured in tens of seconds), and
``group_send`` writes to each member's queue directly.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

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
