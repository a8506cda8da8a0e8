"""``/ws/chat/``: one multiplexed socket per browser tab (PROTOCOL.md, "WebSocket").

The consumer parses, authorizes through selectors, calls one service, and replies. Rules
live in services; fan-out lives in ``messaging.hub``; outgoing frames go through a bounded
``Outbox``. Expected refusals are ``ChatError`` and become ``error`` frames; a database that
is down becomes ``unavailable``; anything else is a bug and is not swallowed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from datetime import datetime
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError, InterfaceError

from accounts.models import User
from accounts.selectors import TokenRefused, auser_get_by_access_token
from accounts.serializers import user_data
from chatsite.foundation import metrics
from chatsite.foundation.codes import SUBPROTOCOL, Close
from chatsite.foundation.errors import ChatError, Forbidden, NotJoined, RateLimited, Unavailable
from chatsite.foundation.publish import apublish, apublish_all, collecting, room_group, user_group
from chatsite.foundation.wire import encode
from messaging import selectors, services
from messaging.ephemeral import STORE_ERRORS
from messaging.frames import check_frame, error_frame, frame_ref, parse_json
from messaging.hub import Hub, get_hub
from messaging.outbox import Outbox
from messaging.serializers import message_data
from messaging.servers import closer, limit_frame_size
from rooms.models import ChatRoom
from rooms.selectors import room_get_for_user, room_last_seq

log = logging.getLogger(__name__)


aroom_get_for_user = database_sync_to_async(room_get_for_user)
aroom_last_seq = database_sync_to_async(room_last_seq)
amessages_changed_since = database_sync_to_async(selectors.messages_changed_since)
# Writes return (result, events): the events their commit published, for us to broadcast
# after we reply (the sender sees its ack before the echo of its own message).
amessage_send = database_sync_to_async(collecting(services.message_send))
amessage_edit = database_sync_to_async(collecting(services.message_edit))
amessage_delete = database_sync_to_async(collecting(services.message_delete))
aroom_mark_read = database_sync_to_async(collecting(services.room_mark_read))


class ChatConsumer(AsyncWebsocketConsumer):
    # No channel of its own: the process hub holds the one channel-layer subscription per
    # group and hands this connection its frames (messaging.hub). An alias that names no
    # configured layer makes Channels skip the per-consumer channel and its receive loop.
    channel_layer_alias = "__hub__"

    hub: Hub | None = None
    outbox: Outbox | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As Channels', without its ``aclose_old_connections()`` before every handler.

        That is a round trip to the database thread for each frame, event and disconnect,
        whether or not the handler touches the database. Every database call here goes
        through ``database_sync_to_async``, which closes stale connections on that thread
        itself; the extra hop only cost time (in the reconnect storm, most of it).
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        if SUBPROTOCOL not in (self.scope.get("subprotocols") or ()):
            await self.close()  # before accept: the handshake is refused
            return
        await self.accept(SUBPROTOCOL)
        if self.scope.get("auth_close"):
            log.info("ws refused close=%s", self.scope["auth_close"])
            await self.close(code=self.scope["auth_close"])
            return
        self.user: User = self.scope["user"]
        self.user_id = self.user.id
        self.user_json = user_data(self.user)
        self.conn_id = uuid.uuid4().hex
        self.rooms: dict[int, ChatRoom] = {}
        self.holding: dict[int, list[tuple[str, int | None]]] = {}
        self.sent_rev: dict[int, int] = {}  # room -> highest rev this socket was sent
        self._resyncing: asyncio.Task[None] | None = None
        self._expiry_timer: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[Any]] = set()  # fire-and-forget, kept referenced
        self.chat = settings.CHAT
        limit_frame_size(self.base_send, self.chat["FRAME_MAX_BYTES"])
        self.outbox = Outbox(
            self.base_send, max_bytes=self.chat["OUTBOX_MAX_BYTES"], on_overflow=self._overflowed
        )
        self.hub = await get_hub()
        if self.hub.draining:
            self.hub = None
            self.close_soon(Close.GOING_AWAY)  # this process is stopping: reconnect to another
            return
        open_now = await self.hub.connection_open(self)
        if open_now > self.chat["MAX_CONNECTIONS_PER_USER"]:
            log.info("ws refused user=%s close=%s open=%s", self.user_id, Close.TOO_MANY, open_now)
            hub, self.hub = self.hub, None  # a refused socket holds no slot, even before it goes
            await hub.connection_close(self)
            self.close_soon(Close.TOO_MANY)
            return
        await self.hub.subscribe(user_group(self.user_id), self)
        metrics.connections_total.inc()
        metrics.connections_open.inc()
        self._schedule_expiry(self.scope["token_exp"])
        log.info("ws open user=%s conn=%s", self.user_id, self.conn_id)

    async def disconnect(self, code: int) -> None:
        if self.hub is None:
            if self.outbox is not None:
                await self.outbox.aclose()
            return
        hub, self.hub = self.hub, None
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        if self._resyncing is not None:
            self._resyncing.cancel()
        for room_id in list(self.rooms):
            await hub.room_leave(room_id, self)
        self.rooms.clear()
        await hub.unsubscribe(user_group(self.user_id), self)
        await hub.connection_close(self)
        metrics.connections_open.dec()
        if self.outbox is not None:
            await self.outbox.aclose()
        log.info("ws close user=%s conn=%s code=%s", self.user_id, self.conn_id, code)

    def _schedule_expiry(self, exp: datetime) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        leeway = settings.SIMPLE_JWT["LEEWAY"]
        delay = max(0.0, exp.timestamp() + leeway - time.time())
        self._expiry_timer = asyncio.get_running_loop().call_later(
            delay, self.close_soon, Close.AUTH
        )

    def _overflowed(self) -> None:
        metrics.closes_total.labels(code=str(Close.SLOW)).inc()
        log.info("ws slow reader user=%s conn=%s close=%s", self.user_id, self.conn_id, Close.SLOW)
        self._in_background(closer(self.base_send)(Close.SLOW))

    # --- from the hub ------------------------------------------------------------------------

    def deliver(
        self, text: str, room: int | None, rev: int | None, frame: bytes | None = None
    ) -> None:
        held = self.holding.get(room) if room is not None else None
        if held is not None:
            held.append((text, rev))
        elif self.outbox is not None:
            if rev is not None and room is not None and rev > self.sent_rev.get(room, 0):
                self.sent_rev[room] = rev
            self.outbox.put(text, frame)

    def resync(self) -> None:
        """After a channel-layer outage: replay each joined room after what was last sent."""
        if self.hub is not None and (self._resyncing is None or self._resyncing.done()):
            self._resyncing = asyncio.get_running_loop().create_task(self._resync())

    async def _resync(self) -> None:
        for room_id in list(self.rooms):
            self.holding.setdefault(room_id, [])
            try:
                since = self.sent_rev.get(room_id, 0)
                # From the database: the broadcasts missed in the outage never reached the hub.
                await self._replay(room_id, since, base=since, use_recent=False)
            except (DatabaseError, InterfaceError):
                log.warning("ws resync failed user=%s room=%s", self.user_id, room_id)

    def close_soon(self, code: int) -> None:
        if self.outbox is not None:
            metrics.closes_total.labels(code=str(code)).inc()
            self.outbox.close(code)

    def forget_room(self, room_id: int, text: str | None) -> None:
        """The room is gone (purged): stop following it, and say so."""
        if room_id in self.rooms and self.hub is not None:
            del self.rooms[room_id]
            self.holding.pop(room_id, None)
            self.sent_rev.pop(room_id, None)
            self._in_background(self.hub.room_leave(room_id, self))
        if text and self.outbox is not None:
            self.outbox.put(text)

    def _in_background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def push(self, frame: dict[str, Any]) -> None:
        if self.outbox is not None:
            self.outbox.put(encode(frame))

    # --- from the client ---------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.hub is None or self.outbox is None:
            return  # refused or closing: nothing a client sends now matters
        limit = self.chat["FRAME_MAX_BYTES"]
        if bytes_data is not None:
            size = len(bytes_data)
        else:
            size = len(text_data or "")
            if size * 4 > limit:  # a str of this length may be over the limit once encoded
                size = len((text_data or "").encode())
        if size > limit:
            log.info("ws frame too big user=%s size=%s close=%s", self.user_id, size, Close.TOO_BIG)
            self.close_soon(Close.TOO_BIG)
            return
        frame: Any = None
        try:
            if bytes_data is not None:
                raise ChatError("Binary frames are not part of chat.v1; send text.")
            frame = parse_json(text_data or "")
            check_frame(frame)
            await self.handlers[frame["type"]](self, frame)
        except ChatError as exc:
            log.info("ws refusal user=%s code=%s room=%s", self.user_id, exc.code, _room_of(frame))
            metrics.refusals_total.labels(code=exc.code).inc()
            self.outbox.put(error_frame(exc, ref=frame_ref(frame)))
        except STORE_ERRORS as exc:
            log.warning("ws shared store unavailable user=%s: %r", self.user_id, exc)
            metrics.refusals_total.labels(code="unavailable").inc()
            self.outbox.put(error_frame(Unavailable(), ref=frame_ref(frame)))
        except (DatabaseError, InterfaceError):
            log.exception("ws database unavailable user=%s", self.user_id)
            metrics.refusals_total.labels(code="unavailable").inc()
            self.outbox.put(error_frame(Unavailable(), ref=frame_ref(frame)))

    async def on_join(self, frame: dict[str, Any]) -> None:
        room_id = frame["room"]
        if room_id not in self.rooms:
            room = await aroom_get_for_user(room_id=room_id, user=self.user)
            self.holding[room_id] = []
            self.rooms[room_id] = room
            try:
                await self.hub.room_join(room_id, self)
            except BaseException:
                self.holding.pop(room_id, None)
                self.rooms.pop(room_id, None)
                raise
        else:
            room = self.rooms[room_id]
            self.holding.setdefault(room_id, [])
        cursor = await self._replay(room_id, frame.get("cursor"), base=room.last_seq)
        await self._push_joined(room_id, cursor)
        metrics.joins_total.inc()

    async def on_sync(self, frame: dict[str, Any]) -> None:
        """As ``join`` with a cursor: the replay, then ``joined`` to mark its end."""
        room_id = self._joined(frame)
        self.holding.setdefault(room_id, [])
        cursor = await self._replay(room_id, frame["cursor"], base=frame["cursor"])
        await self._push_joined(room_id, cursor)

    async def _push_joined(self, room_id: int, cursor: int) -> None:
        self.sent_rev[room_id] = max(self.sent_rev.get(room_id, 0), cursor)
        online, users = await self.hub.presence(room_id)
        self.push(
            {"type": "joined", "room": room_id, "cursor": cursor, "online": online, "users": users}
        )

    async def _replay(
        self, room_id: int, cursor: int | None, *, base: int, use_recent: bool = True
    ) -> int:
        """Send what changed after ``cursor`` (or ``reset``), then what arrived meanwhile.

        What changed comes from the hub's recent frames when they reach back to ``cursor``,
        else from the database. From memory, the replay ends at the last frame this process
        has received, not at ``base``: a change committed but still on its way here arrives
        live after ``joined``, in order. Live frames for the room are held meanwhile, then
        released minus the copies the replay already sent, so the client sees one ordered
        stream.
        """
        top = base
        try:
            if cursor is not None:
                limit = self.chat["REPLAY_MAX"]
                since = cursor
                recent = self.hub.recent_after(room_id, cursor) if use_recent else None
                if recent is not None and len(recent) <= limit:
                    for rev, text, frame in recent:  # already framed: no query, no encoding
                        self.outbox.put(text, frame)
                        since = rev
                    top = since  # not ``base``: what is not here yet will come live
                else:
                    changed = await amessages_changed_since(
                        room_id=room_id, cursor=since, limit=limit + 1
                    )
                    if len(changed) > limit:
                        top = max(top, await aroom_last_seq(room_id=room_id))
                        self.push({"type": "reset", "room": room_id, "cursor": top})
                    else:
                        for message in changed:
                            self.push({"type": "message", "message": message_data(message)})
                            top = max(top, message.rev)
                self.sent_rev[room_id] = max(self.sent_rev.get(room_id, 0), top)
        finally:
            held = self.holding.pop(room_id, [])
        for text, rev in held:
            if rev is None or rev > top or cursor is None:
                self.outbox.put(text)
            if rev is not None:
                top = max(top, rev)
        self.sent_rev[room_id] = max(self.sent_rev.get(room_id, 0), top)
        return top

    async def on_leave(self, frame: dict[str, Any]) -> None:
        room_id = frame["room"]
        if self.rooms.pop(room_id, None) is not None:
            self.sent_rev.pop(room_id, None)
            await self.hub.room_leave(room_id, self)
        self.push({"type": "left", "room": room_id})

    async def on_send(self, frame: dict[str, Any]) -> None:
        started = time.perf_counter()
        room_id = self._joined(frame)
        chat = self.chat
        wait = await self.hub.store.rate_hit(
            f"send:{self.user_id}", chat["SEND_RATE"], chat["SEND_WINDOW"]
        )
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(f"Too many messages; try again in {seconds} s.", retry_after=seconds)
        (message, created), events = await amessage_send(
            room_id=room_id, author=self.user, body=frame["body"], client_id=frame["client_id"]
        )
        ack = {"type": "ack", "client_id": message.client_id, "message": message_data(message)}
        if (ref := frame_ref(frame)) is not None:
            ack["ref"] = ref
        self.push(ack)
        metrics.send_seconds.observe(time.perf_counter() - started)
        if created:
            metrics.messages_sent_total.inc()
        await self._broadcast(events)

    async def on_edit(self, frame: dict[str, Any]) -> None:
        _, events = await amessage_edit(
            message_id=frame["message"], by=self.user, body=frame["body"]
        )
        await self._broadcast(events)

    async def on_delete(self, frame: dict[str, Any]) -> None:
        _, events = await amessage_delete(message_id=frame["message"], by=self.user)
        await self._broadcast(events)

    async def on_typing(self, frame: dict[str, Any]) -> None:
        room_id = self._joined(frame)
        if await self.hub.store.claim(
            f"typing:{self.user_id}:{room_id}", self.chat["TYPING_INTERVAL"]
        ):
            text = encode({"type": "typing", "room": room_id, "user": self.user_json})
            await apublish(room_group(room_id), "frame", text=text, skip_user=self.user_id)

    async def on_read(self, frame: dict[str, Any]) -> None:
        room_id = self._joined(frame)
        _, events = await aroom_mark_read(
            room=self.rooms[room_id], user=self.user, seq=frame["seq"]
        )
        await self._broadcast(events)

    async def on_auth(self, frame: dict[str, Any]) -> None:
        try:
            user, exp = await auser_get_by_access_token(raw=frame["token"])
        except TokenRefused as exc:
            if exc.close_code != Close.AUTH:
                self.close_soon(exc.close_code)
                return
            raise Forbidden(
                "That token is not valid; this connection keeps its current one."
            ) from exc
        if user.id != self.user_id:
            raise Forbidden("A connection cannot change its user.")
        self._schedule_expiry(exp)

    async def _broadcast(self, events: list[Any]) -> None:
        """Publish what a committed write produced. The write stands if this fails: receivers
        see a gap in revs at the next message (or rejoin by cursor) and sync."""
        try:
            await apublish_all(events)
        except STORE_ERRORS as exc:
            log.warning("ws broadcast failed user=%s: %r", self.user_id, exc)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        self.push({"type": "pong"})

    def _joined(self, frame: dict[str, Any]) -> int:
        room_id: int = frame["room"]
        if room_id not in self.rooms:
            raise NotJoined()
        return room_id

    handlers = {
        "join": on_join,
        "leave": on_leave,
        "send": on_send,
        "edit": on_edit,
        "delete": on_delete,
        "typing": on_typing,
        "read": on_read,
        "sync": on_sync,
        "auth": on_auth,
        "ping": on_ping,
    }


def _room_of(frame: Any) -> Any:
    return frame.get("room") if isinstance(frame, dict) else None
