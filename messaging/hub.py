"""Process-local fan-out: one channel-layer subscription per group per process.

A Channels-tutorial consumer joins every group with its own channel, so a broadcast to a
room of 500 costs 500 channel-layer messages. Here the *process* holds one channel: it joins
``room.<id>`` when its first local connection joins and leaves when the last one leaves, a
broadcast reaches each process once, and the hub writes the already-encoded frame to each
local connection's outbox in memory (DESIGN.md, "Real-time fan-out").

The hub also keeps presence for its local connections (``messaging.ephemeral``): it adds a
user to a room when the user's first local connection joins, removes them after the last
leaves, refreshes its entries on a heartbeat, and broadcasts coalesced ``presence`` frames.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import weakref
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from chatsite.foundation import metrics
from chatsite.foundation.publish import EVENT_TYPE, apublish, room_group
from chatsite.foundation.wire import encode
from messaging.ephemeral import (
    STORE_ERRORS,
    LocalStore,
    RedisStore,
    address_key,
    get_store,
    users_sorted,
)
from messaging.servers import GcKeeper, install_graceful_shutdown, text_frame, tune_gc
from moderation import rules

log = logging.getLogger(__name__)

GROUP_REFRESH_SECONDS = 600.0  # re-add groups well before channels-redis' group_expiry


class Connection(Protocol):
    """What the hub needs of a local connection (``messaging.session.Session``)."""

    conn_id: str
    user_id: int
    user_json: dict[str, Any]
    address: str  # the client address, counted against CHAT_MAX_CONNECTIONS_PER_ADDRESS

    @property
    def feeds(self) -> Mapping[int, object]:
        """The rooms this connection has joined."""

    def deliver(self, text: str, room: int | None, rev: int | None, frame: bytes) -> None: ...

    def close_soon(self, code: int) -> None: ...

    def forget_room(self, room_id: int, text: str | None) -> None: ...

    def resync(self) -> None: ...


class Recent:
    """The latest frames of one room as this process received them, in rev order, no holes.

    A client rejoining with a cursor inside this window is replayed from here — already
    encoded and framed — instead of reading the database and encoding each message again
    for each client (in a reconnect storm, thousands of clients replay the same messages).
    A frame that does not follow the last one starts the window afresh, so the window is
    always a complete run of revs; anything older goes to the database.
    """

    def __init__(self, size: int) -> None:
        self.frames: deque[tuple[int, str, bytes]] = deque(maxlen=size)

    def add(self, rev: int, text: str, frame: bytes) -> None:
        if self.frames:
            last = self.frames[-1][0]
            if rev <= last:
                return  # a copy
            if rev != last + 1:
                self.frames.clear()  # we missed some: the run starts again here
        self.frames.append((rev, text, frame))

    def after(self, cursor: int) -> list[tuple[int, str, bytes]] | None:
        """Every frame after ``cursor``, or None when the window does not reach back to it."""
        if not self.frames or self.frames[0][0] > cursor + 1:
            return None
        start = cursor + 1 - self.frames[0][0]
        return list(itertools.islice(self.frames, max(start, 0), None))


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.store: LocalStore | RedisStore = get_store()
        self.channel_name = ""
        self.groups: dict[str, set[Connection]] = {}
        self.connections: set[Connection] = set()
        self._subscribed: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self.room_users: dict[int, dict[int, int]] = {}  # room -> user -> local connections
        self._presence_due: set[int] = set()
        self._presence_seen: dict[int, Any] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Set when the channel layer failed: Redis may have restarted and forgotten our group
        # memberships, so the heartbeat adds them all again until that succeeds.
        self._resubscribe = False
        self.draining = False  # shutting down: new sockets are sent elsewhere
        self.recent: dict[str, Recent] = {}  # room group -> its latest frames, for rejoins

    def _broadcasts_may_be_lost(self) -> None:
        """The layer failed: re-add our groups until that works, and trust no cached frames
        (nor compiled content rules: a change may have been announced meanwhile)."""
        self._resubscribe = True
        self.recent.clear()
        rules.invalidate()

    async def start(self) -> None:
        install_graceful_shutdown(self)
        tune_gc()
        self.channel_name = await self.layer.new_channel(prefix="hub")
        # Every process follows content-rule changes (no local connection needed).
        self._subscribed.add(rules.RULES_GROUP)
        try:
            await self.layer.group_add(rules.RULES_GROUP, self.channel_name)
        except STORE_ERRORS as exc:  # kept in _subscribed: recovery adds it again
            log.warning("hub: group_add %s failed: %r", rules.RULES_GROUP, exc)
            self._broadcasts_may_be_lost()
        self._tasks = [
            asyncio.create_task(self._pump(), name="hub-pump"),
            asyncio.create_task(self._heartbeat(), name="hub-heartbeat"),
        ]
        if settings.CHAT["GC_TUNING"]:
            keeper = GcKeeper(lambda: len(self.connections))
            period = settings.CHAT["GC_FREEZE_INTERVAL"]
            self._tasks.append(asyncio.create_task(keeper.run(period), name="hub-gc"))

    async def stop(self) -> None:
        # Also a flag: a cancellation can come out of redis-py as a TimeoutError (when it
        # lands as its read times out), which the pump would take for a broken connection.
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- groups -------------------------------------------------------------------------

    async def subscribe(self, group: str, conn: Connection) -> None:
        self.groups.setdefault(group, set()).add(conn)
        lock = self._locks.setdefault(group, asyncio.Lock())
        async with lock:
            if group not in self._subscribed and self.groups.get(group):
                self._subscribed.add(group)
                try:
                    await self.layer.group_add(group, self.channel_name)
                except STORE_ERRORS as exc:  # kept in _subscribed: recovery adds it again
                    log.warning("hub: group_add %s failed: %r", group, exc)
                    self._broadcasts_may_be_lost()

    async def unsubscribe(self, group: str, conn: Connection) -> None:
        conns = self.groups.get(group)
        if conns is None:
            return
        conns.discard(conn)
        if conns:
            return
        del self.groups[group]
        self.recent.pop(group, None)  # unwatched from now on: it would get holes
        lock = self._locks.setdefault(group, asyncio.Lock())
        async with lock:
            if group in self._subscribed and not self.groups.get(group):
                self._subscribed.discard(group)
                try:
                    await self.layer.group_discard(group, self.channel_name)
                except STORE_ERRORS as exc:  # the group entry expires on its own
                    log.warning("hub: group_discard %s failed: %r", group, exc)
        if not lock.locked() and group not in self.groups:
            self._locks.pop(group, None)

    async def _pump(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken layer connection: keep serving, try again
                if self._stopping:
                    return
                if not self._resubscribe:
                    log.warning("hub: channel layer receive failed: %r", exc)
                self._broadcasts_may_be_lost()
                await asyncio.sleep(0.5)
                await self._add_all_groups()  # succeeds once the layer is back
                continue
            if self._resubscribe:
                await self._add_all_groups()
            if message.get("type") == EVENT_TYPE:
                self.dispatch(message)

    def dispatch(self, event: dict[str, Any]) -> None:
        if event["kind"] == "rules":
            rules.invalidate()
            return
        conns = self.groups.get(event["group"])
        if not conns:
            return
        kind = event["kind"]
        if kind == "frame":
            text = event["text"]
            frame = text_frame(text.encode())  # once per process, not once per receiver
            room, rev = event.get("room"), event.get("rev")
            skip, unless = event.get("skip_user"), event.get("unless_joined")
            if (seen := event.get("presence")) is not None and room is not None:
                self._presence_seen[room] = seen
            if rev is not None and room is not None:
                recent = self.recent.get(event["group"])
                if recent is None:
                    recent = self.recent[event["group"]] = Recent(settings.CHAT["RECENT_FRAMES"])
                recent.add(rev, text, frame)
            delivered = 0
            for conn in tuple(conns):
                if skip is not None and conn.user_id == skip:
                    continue
                if unless is not None and unless in conn.feeds:
                    continue
                conn.deliver(text, room, rev, frame)
                delivered += 1
            metrics.deliveries_total.inc(delivered)
        elif kind == "close":
            for conn in tuple(conns):
                conn.close_soon(event["code"])
        elif kind == "forget":
            room, joined_only = event["room"], event.get("joined_only")
            for conn in tuple(conns):
                if joined_only and room not in conn.feeds:
                    continue
                conn.forget_room(room, event.get("text"))

    def recent_after(self, room_id: int, cursor: int) -> list[tuple[int, str, bytes]] | None:
        """The room's frames after ``cursor`` from memory, or None if memory does not reach."""
        recent = self.recent.get(room_group(room_id))
        return None if recent is None else recent.after(cursor)

    # --- connections, rooms, presence ----------------------------------------------------

    def connection_add(self, conn: Connection) -> None:
        """Follow an admitted connection (``messaging.limits.connection_admit`` counted it):
        the heartbeat keeps its entry in the shared store alive, shutdown closes it."""
        self.connections.add(conn)

    def connection_remove(self, conn: Connection) -> None:
        self.connections.discard(conn)

    async def _quietly(self, operation: Any) -> Any:
        """Ephemeral bookkeeping may fail while Redis is away; the heartbeat repairs it."""
        try:
            return await operation
        except STORE_ERRORS as exc:
            log.warning("hub: shared store unavailable: %r", exc)
            self._broadcasts_may_be_lost()
            return None

    async def room_join(self, room_id: int, conn: Connection) -> None:
        await self.subscribe(room_group(room_id), conn)
        users = self.room_users.setdefault(room_id, {})
        count = users.get(conn.user_id, 0)
        users[conn.user_id] = count + 1
        if count == 0:
            await self._quietly(self.store.presence_add(room_id, conn.user_json))
            self.presence_changed(room_id)

    async def room_leave(self, room_id: int, conn: Connection) -> None:
        users = self.room_users.get(room_id, {})
        count = users.get(conn.user_id, 0)
        if count <= 1:
            users.pop(conn.user_id, None)
            if not users:
                self.room_users.pop(room_id, None)
            if count == 1:
                await self._quietly(self.store.presence_remove(room_id, conn.user_json))
                self.presence_changed(room_id)
        else:
            users[conn.user_id] = count - 1
        await self.unsubscribe(room_group(room_id), conn)

    async def presence(self, room_id: int) -> tuple[int, list[dict[str, Any]]]:
        limit = settings.CHAT["PRESENCE_USERS_MAX"]
        try:
            return await self.store.presence(room_id, limit)
        except STORE_ERRORS as exc:  # what this process knows beats failing the join
            log.warning("hub: presence unavailable, answering with local users: %r", exc)
            self._broadcasts_may_be_lost()
            users = {c.user_id: c.user_json for c in self.groups.get(room_group(room_id), ())}
            return len(users), users_sorted(users.values())[:limit]

    def presence_changed(self, room_id: int) -> None:
        """Coalesce: at most one ``presence`` broadcast per room per interval per process."""
        if room_id in self._presence_due:
            return
        self._presence_due.add(room_id)
        loop = asyncio.get_running_loop()
        loop.call_later(
            settings.CHAT["PRESENCE_COALESCE"],
            lambda: self._tasks.append(loop.create_task(self._presence_flush(room_id))),
        )

    async def _presence_flush(self, room_id: int, *, only_if_changed: bool = False) -> None:
        self._presence_due.discard(room_id)
        self._tasks[:] = [t for t in self._tasks if not t.done()]
        try:
            online, users = await self.store.presence(room_id, settings.CHAT["PRESENCE_USERS_MAX"])
        except STORE_ERRORS as exc:  # no broadcast from a partial view; a later beat retries
            log.warning("hub: presence unavailable: %r", exc)
            return
        seen = [online, *(user["id"] for user in users)]
        if only_if_changed and self._presence_seen.get(room_id) == seen:
            return
        self._presence_seen[room_id] = seen
        text = encode({"type": "presence", "room": room_id, "online": online, "users": users})
        try:
            await apublish(room_group(room_id), "frame", text=text, room=room_id, presence=seen)
        except STORE_ERRORS as exc:
            log.warning("hub: presence broadcast failed: %r", exc)

    async def _add_all_groups(self) -> None:
        try:
            for group in list(self._subscribed):
                await self.layer.group_add(group, self.channel_name)
        except Exception as exc:
            log.warning("hub: re-subscribing failed, will retry: %r", exc)
            return
        if self._resubscribe:
            self._resubscribe = False
            log.info("hub: channel layer back; re-subscribed %s groups", len(self._subscribed))
            # Broadcasts sent while it was away never reached us: each connection replays
            # what came after the last change it was sent.
            for conn in list(self.connections):
                conn.resync()

    async def _heartbeat(self) -> None:
        ttl = settings.CHAT["PRESENCE_TTL"]
        interval = ttl / 4
        since_groups = 0.0
        while True:
            await asyncio.sleep(interval)
            if self._resubscribe:
                await self._add_all_groups()
            try:
                await self.store.refresh(
                    [
                        (room_id, conn.user_json)
                        for room_id, users in self.room_users.items()
                        for conn in self._one_conn_per_user(room_id, users)
                    ],
                    [
                        *((conn.user_id, conn.conn_id) for conn in self.connections),
                        *((address_key(conn.address), conn.conn_id) for conn in self.connections),
                    ],
                )
                # Another process may have died: re-read presence of our rooms, tell if changed.
                for room_id in list(self.room_users):
                    await self._presence_flush(room_id, only_if_changed=True)
                since_groups += interval
                if since_groups >= GROUP_REFRESH_SECONDS:
                    since_groups = 0.0
                    await self._add_all_groups()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: presence heals on a later beat
                log.warning("hub: heartbeat failed: %r", exc)
                self._broadcasts_may_be_lost()

    def _one_conn_per_user(self, room_id: int, users: dict[int, int]) -> list[Connection]:
        found: dict[int, Connection] = {}
        for conn in self.groups.get(room_group(room_id), ()):
            if conn.user_id in users:
                found.setdefault(conn.user_id, conn)
        return list(found.values())


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()
_starting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[Hub]] = (
    weakref.WeakKeyDictionary()
)


async def get_hub() -> Hub:
    """This process's hub (one per event loop, started on first use)."""
    loop = asyncio.get_running_loop()
    if (hub := _hubs.get(loop)) is not None:
        return hub
    if (pending := _starting.get(loop)) is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[Hub] = loop.create_future()
    _starting[loop] = future
    try:
        hub = Hub()
        await hub.start()
    except BaseException as exc:
        future.set_exception(exc)
        raise
    finally:
        _starting.pop(loop, None)
    _hubs[loop] = hub
    future.set_result(hub)
    return hub


async def stop_hub() -> None:
    """For tests and shutdown: stop this loop's hub."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.stop()
