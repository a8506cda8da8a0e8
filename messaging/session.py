"""One admitted socket: who it is, its outbox, and its feeds of the rooms it joined.

Made by ``ChatConsumer`` once a socket is accepted and admitted, so everything here has its
hub and outbox (nothing is ``None``); the hub knows the socket through it (``deliver`` is
the fan-out's hot path). Joining, syncing and leaving go through the room's ``RoomFeed``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.models import User
from accounts.serializers import user_data
from chatsite.foundation import metrics
from chatsite.foundation.codes import Close
from chatsite.foundation.errors import NotJoined
from chatsite.foundation.publish import room_group, user_group
from messaging.feed import RoomFeed, aroom_last_seq
from messaging.hub import Hub
from messaging.limits import connection_release, replay_check
from messaging.outbox import Outbox, Send
from messaging.servers import closer
from rooms.models import ChatRoom

log = logging.getLogger(__name__)


class Session:
    def __init__(self, *, user: User, hub: Hub, send: Send, address: str = "unknown") -> None:
        """``send``: the socket's ASGI send (its server's, for direct writes); ``address``:
        the client's, as the proxy forwards it."""
        self.user = user
        self.address = address
        self.user_id: int = user.id
        self.user_json = user_data(user)
        self.conn_id = uuid.uuid4().hex
        self.hub = hub
        self._send = send
        self.outbox = Outbox(
            send, max_bytes=settings.CHAT["OUTBOX_MAX_BYTES"], on_overflow=self._overflowed
        )
        self.feeds: dict[int, RoomFeed] = {}
        self.closed = False
        self._expiry_timer: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[None]] = set()  # fire-and-forget, kept referenced

    async def open(self, *, token_exp: datetime) -> None:
        """Start following the user's own group; close with 4401 when the token runs out."""
        self.hub.connection_add(self)
        await self.hub.subscribe(user_group(self.user_id), self)
        self.renew(token_exp)

    async def close(self) -> None:
        """The socket went: leave every room, give back the connection slot."""
        self.closed = True
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        for room_id in list(self.feeds):
            await self.leave(room_id)
        await self.hub.unsubscribe(user_group(self.user_id), self)
        self.hub.connection_remove(self)
        await connection_release(user_id=self.user_id, conn_id=self.conn_id, address=self.address)
        await self.outbox.aclose()

    def renew(self, exp: datetime) -> None:
        """The connection lives until ``exp`` (plus the leeway), then closes with 4401."""
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        delay = max(0.0, exp.timestamp() + _leeway_seconds() - time.time())
        self._expiry_timer = asyncio.get_running_loop().call_later(
            delay, self.close_soon, Close.AUTH
        )

    # --- rooms --------------------------------------------------------------------------------

    def joined(self, room_id: int) -> RoomFeed:
        """The feed of a joined room; ``NotJoined`` otherwise."""
        feed = self.feeds.get(room_id)
        if feed is None:
            raise NotJoined()
        return feed

    async def join(self, room: ChatRoom, *, cursor: int | None) -> None:
        """Follow ``room`` (if not yet), replay after ``cursor``, then ``joined``. A replay
        is within the limits of ``replay_check`` (``RateLimited`` past them)."""
        if cursor is not None:
            await replay_check(
                user_id=self.user_id, conn_id=self.conn_id, room_id=room.id, cursor=cursor
            )
        feed = self.feeds.get(room.id)
        new = feed is None
        if feed is None:
            feed = self.feeds[room.id] = RoomFeed(room, hub=self.hub, outbox=self.outbox)
        async with feed.exclusive():
            if new:
                try:
                    await self.hub.room_join(room.id, self)
                except BaseException:
                    del self.feeds[room.id]
                    raise
            feed.room = room
            base = cursor if cursor is not None else await self._room_end(room.id)
            await feed.replay_and_join(cursor, base=base)

    async def _room_end(self, room_id: int) -> int:
        """Where a join without a cursor starts: the last change this process received of
        the room (its recent frames are an unbroken run up to it; whatever was committed
        later arrives live), else the room's committed counter (a query). The joined room's
        row (a snapshot) is not asked: its ``last_seq`` may be old."""
        recent = self.hub.recent.get(room_group(room_id))
        if recent is not None and recent.frames:
            return recent.frames[-1][0]
        return await aroom_last_seq(room_id=room_id)

    async def sync(self, room_id: int, *, cursor: int) -> None:
        """As ``join`` with a cursor, for a client that saw a gap."""
        feed = self.joined(room_id)
        await replay_check(
            user_id=self.user_id, conn_id=self.conn_id, room_id=room_id, cursor=cursor
        )
        async with feed.exclusive():
            await feed.replay_and_join(cursor, base=cursor)

    async def leave(self, room_id: int) -> bool:
        """Stop following the room (whatever replay was running for it ends first, and
        sends nothing more); False if it was not followed."""
        feed = self.feeds.get(room_id)
        if feed is None:
            return False
        async with feed.exclusive():
            if self.feeds.get(room_id) is not feed:
                return False  # left meanwhile (purged, or the socket closed)
            del self.feeds[room_id]
            feed.held = None
            await self.hub.room_leave(room_id, self)
        return True

    # --- from the hub (``messaging.hub.Connection``) ------------------------------------------

    def deliver(
        self, text: str, room: int | None, rev: int | None, frame: bytes | None = None
    ) -> None:
        """A broadcast frame for this socket: the fan-out's hot path, called once per
        receiver per broadcast. No await, no allocation but a held frame's tuple."""
        if room is not None and (feed := self.feeds.get(room)) is not None:
            held = feed.held
            if held is not None:
                held.append((text, rev))
                return
            if rev is not None and rev > feed.sent_rev:
                feed.sent_rev = rev
        self.outbox.put(text, frame)

    def resync(self) -> None:
        """After a channel-layer outage: each joined room replays what this socket missed."""
        if not self.closed:
            for feed in self.feeds.values():
                feed.resync()

    def forget_room(self, room_id: int, text: str | None) -> None:
        """The room is gone (purged): stop following it, and say so (``text``)."""
        if room_id in self.feeds:
            self._in_background(self._forget(room_id, text))
        elif text:
            self.outbox.put(text)

    async def _forget(self, room_id: int, text: str | None) -> None:
        await self.leave(room_id)
        if text:
            self.outbox.put(text)

    def close_soon(self, code: int) -> None:
        metrics.closes_total.labels(code=str(code)).inc()
        self.outbox.close(code)

    def _overflowed(self) -> None:
        """The client stopped reading and its outbox passed the bound: close with 4408 (it
        resumes by cursor)."""
        metrics.closes_total.labels(code=str(Close.SLOW)).inc()
        log.info("ws slow reader user=%s conn=%s close=%s", self.user_id, self.conn_id, Close.SLOW)
        self._in_background(closer(self._send)(Close.SLOW))

    def reply(self, text: str) -> None:
        self.outbox.put(text)

    def _in_background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _leeway_seconds() -> float:
    """simplejwt's clock leeway (seconds, or a timedelta)."""
    leeway = settings.SIMPLE_JWT["LEEWAY"]
    if isinstance(leeway, timedelta):
        return leeway.total_seconds()
    if isinstance(leeway, int | float):
        return float(leeway)
    raise ImproperlyConfigured(f"SIMPLE_JWT['LEEWAY'] must be seconds, not {leeway!r}.")
