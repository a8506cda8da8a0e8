"""``/ws/chat/``: one multiplexed socket per browser tab (PROTOCOL.md, "WebSocket").

The consumer routes: it parses a frame, hands it to its handler, which makes one service or
selector call and replies. Rules (limits, writes, the frames a room receives) live in
``messaging.services`` and ``messaging.limits``; a socket's state in ``messaging.session``
and its rooms' replays in ``messaging.feed``; fan-out in ``messaging.hub``.

Expected refusals are ``ChatError`` and become ``error`` frames. A database or shared store
that cannot be reached now becomes ``unavailable`` (retry). Anything else is a bug: logged
with its traceback and answered ``internal``, and the connection lives on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from accounts.selectors import TokenRefused, auser_get_by_access_token
from chatsite.foundation import metrics
from chatsite.foundation.addresses import address_from_scope
from chatsite.foundation.codes import SUBPROTOCOL, Close
from chatsite.foundation.errors import BadRequest, ChatError, Forbidden, Internal, Unavailable
from messaging import reactions, services
from messaging.feed import UNAVAILABLE
from messaging.frames import (
    PONG,
    Frame,
    ack_frame,
    check_frame,
    error_frame,
    frame_ref,
    left_frame,
    parse_json,
)
from messaging.hub import get_hub
from messaging.limits import connection_admit
from messaging.servers import closer, limit_frame_size, limit_send_buffer
from messaging.session import Session
from rooms.selectors import aroom_get_for_socket

log = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    # No channel of its own: the process hub holds the one channel-layer subscription per
    # group and hands this connection its frames (messaging.hub). An alias that names no
    # configured layer makes Channels skip the per-consumer channel and its receive loop.
    channel_layer_alias = "__hub__"

    # Made once the socket is accepted and admitted; a socket without one (refused, or
    # closing before it was admitted) ignores what its client sends.
    session: Session | None = None
    frame_max: int  # CHAT_FRAME_MAX_BYTES, read at connect

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
        user = self.scope["user"]
        # The handshake's language (chatsite.i18n) for this connection's task: Channels
        # dispatches every later frame in this same context, so each ``error`` frame's
        # ``detail`` is in the user's language, at no cost per frame.
        translation.activate(self.scope.get("language") or settings.LANGUAGE_CODE)
        frame_max = settings.CHAT["FRAME_MAX_BYTES"]
        limit_frame_size(self.base_send, frame_max)
        limit_send_buffer(self.base_send, settings.CHAT["SOCKET_SNDBUF"])
        hub = await get_hub()
        if hub.draining:  # this process is stopping: reconnect to another
            await self._refuse(Close.GOING_AWAY)
            return
        address = address_from_scope(self.scope)
        session = Session(user=user, hub=hub, send=self.base_send, address=address)
        if not await connection_admit(
            user_id=session.user_id, conn_id=session.conn_id, address=address
        ):
            log.info("ws refused user=%s close=%s", session.user_id, Close.TOO_MANY)
            await self._refuse(Close.TOO_MANY)
            return
        self.session = session
        self.frame_max = frame_max
        await session.open(token_exp=self.scope["token_exp"])
        metrics.connections_total.inc()
        metrics.connections_open.inc()
        log.info("ws open user=%s conn=%s", session.user_id, session.conn_id)

    async def _refuse(self, code: int) -> None:
        metrics.closes_total.labels(code=str(code)).inc()
        await closer(self.base_send)(code)

    async def disconnect(self, code: int) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        await session.close()
        metrics.connections_open.dec()
        log.info("ws close user=%s conn=%s code=%s", session.user_id, session.conn_id, code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        session = self.session
        if session is None:
            return  # refused or closing: nothing a client sends now matters
        limit = self.frame_max
        if bytes_data is not None:
            size = len(bytes_data)
        else:
            size = len(text_data or "")
            if size * 4 > limit:  # a str of this length may be over the limit once encoded
                size = len((text_data or "").encode())
        if size > limit:
            log.info("ws frame too big user=%s size=%s", session.user_id, size)
            session.close_soon(Close.TOO_BIG)
            return
        frame: Frame | None = None
        try:
            if bytes_data is not None:
                raise BadRequest(gettext("Binary frames are not part of chat.v1; send text."))
            frame = parse_json(text_data or "")  # kept for its ``ref`` if the check fails
            await HANDLERS[check_frame(frame)["type"]](session, frame)
        except ChatError as exc:
            log.info(
                "ws refusal user=%s code=%s room=%s", session.user_id, exc.code, _room_of(frame)
            )
            _answer_error(session, exc, frame)
        except UNAVAILABLE as exc:
            log.warning("ws unavailable user=%s: %r", session.user_id, exc)
            _answer_error(session, Unavailable(), frame)
        except Exception:
            # A bug (IntegrityError, DataError, ProgrammingError among them): a retry will
            # not cure it. Logged with its traceback; the connection lives on.
            log.exception("ws handler failed user=%s type=%s", session.user_id, _type_of(frame))
            _answer_error(session, Internal(), frame)


# --- handlers: one call each, then the reply -------------------------------------------------


async def on_join(session: Session, frame: Frame) -> None:
    room = await aroom_get_for_socket(room_id=frame["room"], user=session.user)
    await session.join(room, cursor=frame.get("cursor"))
    metrics.joins_total.inc()


async def on_sync(session: Session, frame: Frame) -> None:
    await session.sync(frame["room"], cursor=frame["cursor"])


async def on_leave(session: Session, frame: Frame) -> None:
    await session.leave(frame["room"])
    session.reply(left_frame(room=frame["room"]))


async def on_send(session: Session, frame: Frame) -> None:
    started = time.perf_counter()
    feed = session.joined(frame["room"])
    sent = await services.amessage_send(
        room_id=feed.room_id,
        author=session.user,
        body=frame["body"],
        client_id=frame["client_id"],
        reply_to=frame.get("reply_to"),  # (v1.1)
        attachments=frame.get("attachments"),  # (v1.1) checked by messaging.attachments
    )
    session.reply(ack_frame(sent.message, ref=frame_ref(frame)))
    metrics.send_seconds.observe(time.perf_counter() - started)
    if sent.created:
        metrics.messages_sent_total.inc()
    await services.abroadcast(sent.events)  # after the ack: the sender sees it first


async def on_edit(session: Session, frame: Frame) -> None:
    await services.amessage_edit(message_id=frame["message"], by=session.user, body=frame["body"])


async def on_delete(session: Session, frame: Frame) -> None:
    await services.amessage_delete(message_id=frame["message"], by=session.user)


async def on_react(session: Session, frame: Frame) -> None:
    """(v1.1) The reacted-to message goes to the room, this connection among them if joined."""
    _, events = await reactions.amessage_react(
        message_id=frame["message"], user=session.user, emoji=frame["emoji"], on=frame.get("on")
    )
    await services.abroadcast(events)


async def on_typing(session: Session, frame: Frame) -> None:
    feed = session.joined(frame["room"])
    await services.atyping_announce(room_id=feed.room_id, user=session.user)


async def on_read(session: Session, frame: Frame) -> None:
    feed = session.joined(frame["room"])
    await services.aroom_mark_read(room=feed.room, user=session.user, seq=frame["seq"])


async def on_auth(session: Session, frame: Frame) -> None:
    try:
        user, exp = await auser_get_by_access_token(raw=frame["token"])
    except TokenRefused as exc:
        if exc.close_code != Close.AUTH:
            session.close_soon(exc.close_code)
            return
        raise Forbidden(
            gettext("That token is not valid; this connection keeps its current one.")
        ) from exc
    if user.id != session.user_id:
        raise Forbidden(gettext("A connection cannot change its user."))
    session.renew(exp)


async def on_ping(session: Session, frame: Frame) -> None:
    session.reply(PONG)


HANDLERS: dict[str, Callable[[Session, Frame], Awaitable[None]]] = {
    "join": on_join,
    "leave": on_leave,
    "send": on_send,
    "edit": on_edit,
    "delete": on_delete,
    "react": on_react,  # (v1.1)
    "typing": on_typing,
    "read": on_read,
    "sync": on_sync,
    "auth": on_auth,
    "ping": on_ping,
}


def _answer_error(session: Session, exc: ChatError, frame: Frame | None) -> None:
    metrics.refusals_total.labels(code=exc.code).inc()
    session.reply(error_frame(exc, ref=frame_ref(frame)))


def _room_of(frame: Frame | None) -> object:
    return frame.get("room") if frame is not None else None


def _type_of(frame: Frame | None) -> object:
    return frame.get("type") if frame is not None else None
