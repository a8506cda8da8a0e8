"""One connection's feed of one joined room: what it was sent, and the replays that fill gaps.

A client's stream of a room is live frames, and replays of what changed after a cursor: on
``join`` and ``sync``, and in the background after a channel-layer outage (``resync``).
While a replay runs, live frames of the room are held; after it they are released, minus
the copies it already sent, so the client sees one stream in rev order (PROTOCOL.md,
"Client rules"). ``sent_rev`` is the highest rev sent: a resync replays what came after it.

Work on a feed is serialized: ``exclusive()`` first ends a background resync of the feed
(cancelled and awaited), then takes the feed's lock, which a resync also holds while it
runs. So a resync and the client's ``join``, ``sync`` or ``leave`` of the room never
interleave. Superseding rather than queueing behind a resync is deliberate: a ``join`` or
``sync`` replays from the client's own cursor, which covers what the resync would have sent
(a cursor is never past ``sent_rev``), and a ``leave`` wants nothing more of the room.
Frames the cancelled resync was holding stay held for the replay that follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from django.conf import settings
from django.db import InterfaceError, OperationalError

from messaging import selectors
from messaging.ephemeral import STORE_ERRORS
from messaging.frames import joined_frame, reset_frame
from messaging.hub import Hub
from messaging.outbox import Outbox
from messaging.serializers import message_frame
from messaging.threads import in_db_thread
from rooms.models import ChatRoom
from rooms.selectors import room_last_seq

log = logging.getLogger(__name__)

amessages_changed_since = in_db_thread(selectors.messages_changed_since)
aroom_last_seq = in_db_thread(room_last_seq)

# Failures that say "not now" (the database or the shared store is away), not "a bug".
UNAVAILABLE = (OperationalError, InterfaceError, *STORE_ERRORS)

Held = list[tuple[str, int | None]]  # (frame text, its rev if it has one)


class RoomFeed:
    __slots__ = ("_hub", "_outbox", "_resync", "held", "lock", "room", "room_id", "sent_rev")

    def __init__(self, room: ChatRoom, *, hub: Hub, outbox: Outbox) -> None:
        self.room = room  # as read at the latest join (``read`` needs the row)
        self.room_id: int = room.id
        self.sent_rev = 0
        # Live frames held while a replay runs; None while frames flow. A new feed holds
        # from the start: frames arriving once the hub subscribed wait for the first replay.
        self.held: Held | None = []
        self.lock = asyncio.Lock()
        self._hub = hub
        self._outbox = outbox
        self._resync: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """The feed to oneself: a running resync ended first, then the lock held."""
        await self.stop_background()
        async with self.lock:
            yield

    async def stop_background(self) -> None:
        task, self._resync = self._resync, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})  # its end, without taking on its cancellation

    # --- replays (call inside ``exclusive()``) ------------------------------------------------

    async def replay_and_join(self, cursor: int | None, *, base: int) -> None:
        """Send what changed after ``cursor`` (nothing without one), release what was held,
        then ``joined`` with the cursor the client has now."""
        top = await self._replay(cursor, base=base)
        online, users = await self._hub.presence(self.room_id)
        self._outbox.put(joined_frame(room=self.room_id, cursor=top, online=online, users=users))

    def resync(self) -> None:
        """After a channel-layer outage: replay, in the background, what came after the last
        change this connection was sent (those broadcasts may never have reached the hub)."""
        if self._resync is None or self._resync.done():
            self._resync = asyncio.get_running_loop().create_task(self._run_resync())

    async def _run_resync(self) -> None:
        async with self.lock:
            since = self.sent_rev
            try:
                await self._replay(since, base=since, use_recent=False)
            except UNAVAILABLE as exc:  # the client sees a gap at the next message and syncs
                log.warning("ws resync failed room=%s: %r", self.room_id, exc)
            except Exception:
                log.exception("ws resync failed room=%s", self.room_id)

    async def _replay(self, cursor: int | None, *, base: int, use_recent: bool = True) -> int:
        """Send what changed after ``cursor``, then the held frames it did not cover; the
        highest rev the client has been sent, or ``base`` without a cursor.

        From memory (the hub's recent frames) the replay ends at the last frame this process
        received, not at ``base``: a change committed but still on its way arrives live
        afterwards, in order.
        """
        if self.held is None:
            self.held = []
        top = base
        try:
            if cursor is not None:
                top = await self._send_changes(cursor, base=base, use_recent=use_recent)
        except asyncio.CancelledError:
            raise  # superseded: whoever superseded this replay releases what is held
        except BaseException:
            self.held = None  # nothing replayed: frames flow again, the client syncs on the gap
            raise
        held, self.held = self.held, None
        self.sent_rev = max(self.sent_rev, top)
        for text, rev in held:
            if rev is None or cursor is None or rev > top:
                self._outbox.put(text)
            if rev is not None:
                top = max(top, rev)
        self.sent_rev = max(self.sent_rev, top)
        return top

    async def _send_changes(self, cursor: int, *, base: int, use_recent: bool) -> int:
        limit = settings.CHAT["REPLAY_MAX"]
        recent = self._hub.recent_after(self.room_id, cursor) if use_recent else None
        if recent is not None and len(recent) <= limit:
            top = cursor
            for rev, text, frame in recent:  # already framed: no query, no encoding
                self._outbox.put(text, frame)
                top = rev
            return top  # not ``base``: what is not here yet comes live
        changed = await amessages_changed_since(
            room_id=self.room_id, cursor=cursor, limit=limit + 1
        )
        if len(changed) > limit:
            top = max(base, await aroom_last_seq(room_id=self.room_id))
            self._outbox.put(reset_frame(room=self.room_id, cursor=top))
            return top
        top = base
        for message in changed:
            self._outbox.put(message_frame(message))
            top = max(top, message.rev)
        return top
