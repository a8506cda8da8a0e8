"""Writes for messages. Each takes the room's next number in the same transaction as the
write and publishes after commit, so HTTP, admin and WebSocket behave the same.

Every frame a room (or a user's sockets) receives is built here or in ``messaging.hub``
(presence), never in an interface. The ``a``-prefixed functions at the end are the
WebSocket's entry points: the limits of ``messaging.limits``, then the write, with its
broadcast handed back for the caller to publish after it replied.
"""

import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.serializers import user_data
from chatsite.foundation.errors import (
    BadRequest,
    ChatError,
    Empty,
    Forbidden,
    NotFound,
    TooLong,
)
from chatsite.foundation.publish import (
    Event,
    apublish,
    apublish_all,
    collecting,
    publish_on_commit,
    room_group,
    user_group,
)
from chatsite.foundation.text import is_blank, text_check
from chatsite.foundation.wire import encode
from messaging.attachments import attachment_ids_clean, attachments_claim, attachments_drop
from messaging.ephemeral import STORE_ERRORS
from messaging.limits import read_rate_check, send_rate_check, typing_allowed, write_rate_check
from messaging.mentions import mentions_record, mentions_resolve
from messaging.models import ChatMessage
from messaging.replies import RELATED, reply_parent_get
from messaging.serializers import (
    message_data,
    message_frame,
    room_data_for,
    room_data_shared,
)
from messaging.threads import in_db_thread
from moderation.selectors import blocked_between
from moderation.services import Blocked, check_send, check_text
from rooms.models import ChatRoom, Listing, Membership
from rooms.services import direct_room_get_or_create, membership_mark_read, room_next_seq

log = logging.getLogger(__name__)

CLIENT_ID_MAX = 64

# Called with each message stored now, its room's kind and the ids of the users it mentions,
# inside the send's transaction: the ``notifications`` app registers itself here (messaging does not
# import it) and enqueues its delayed push in the same transaction, so a notification is
# committed with its message or not at all.
MessageStoredHook = Callable[[ChatMessage, str, Sequence[int]], None]
message_stored_hooks: list[MessageStoredHook] = []


def clean_body(body: object) -> str:
    """1 to BODY_MAX characters once trimmed, with something visible and no control
    character but tab and newline; stored as typed otherwise."""
    if not isinstance(body, str):
        raise BadRequest(gettext("body must be a string."))
    body = text_check(body, field="body").strip()
    if is_blank(body):
        raise Empty()
    limit = settings.CHAT["BODY_MAX"]
    if len(body) > limit:
        raise TooLong(gettext("A message has at most %(limit)s characters.") % {"limit": limit})
    return body


def clean_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX:
        raise BadRequest(
            gettext("client_id must be a string of 1 to %(client_id_max)s characters.")
            % {"client_id_max": CLIENT_ID_MAX}
        )
    return text_check(client_id, field="client_id")


def message_send(
    *,
    room_id: int,
    author: User,
    body: str,
    client_id: str,
    reply_to: object = None,
    attachments: object = None,
) -> tuple[ChatMessage, bool]:
    """Store a message once per (room, author, client_id); ``True`` if it was stored now.

    A retry with a ``client_id`` already stored in this room returns that message and
    publishes nothing. Idempotency is per room: the same ``client_id`` sent to another room is
    another message there (never the first room's message acknowledged as if it were new).
    """
    client_id = clean_client_id(client_id)
    media_ids = attachment_ids_clean(attachments)  # (v1.1) images: the body may be empty
    body = "" if media_ids and not body.strip() else clean_body(body)
    try:  # muted, blocked, slow mode, content rules: may it go through, and as what text
        body = check_send(room_id=room_id, author=author, body=body)
    except ChatError:
        # A retry of a send stored before is answered with it (its ack was lost), never
        # refused: slow mode would refuse every retry.
        if existing := _message_by_client_id(room_id=room_id, author=author, client_id=client_id):
            return existing, False
        raise
    parent = reply_parent_get(room_id=room_id, message_id=reply_to)  # (v1.1) NotFound
    # Insert first: a retry is rare, so it pays the extra read, not every first send.
    try:
        with transaction.atomic():
            seq, kind = room_next_seq(room_id=room_id)
            message = ChatMessage.objects.create(
                room_id=room_id, author=author, body=body, client_id=client_id, seq=seq, rev=seq,
                reply_to=parent, mentions=mentions_resolve(room_id=room_id, kind=kind, body=body),
            )  # fmt: skip
            if media_ids:
                attachments_claim(message=message, ids=media_ids)
            _publish_message(message, notify=kind == ChatRoom.DIRECT)
            # (v1.1) a direct room's members are told above, whoever is mentioned
            mentions_record(message, notify=kind == ChatRoom.PUBLIC)
            # (v1.1) pushes and e-mail (notifications), mentions one more input
            for hook in message_stored_hooks:
                hook(message, kind, message.mentions)
    except IntegrityError:
        # Stored already (a retry, or a concurrent one that won); the rollback gave back the
        # number we took.
        if existing := _message_by_client_id(room_id=room_id, author=author, client_id=client_id):
            return existing, False
        raise
    return message, True


def _message_by_client_id(*, room_id: int, author: User, client_id: str) -> ChatMessage | None:
    # Served by the unique index on (room, author, client_id).
    return (
        ChatMessage.objects.filter(room_id=room_id, author=author, client_id=client_id)
        .select_related(*RELATED)
        .first()
    )


def message_edit(*, message_id: int, by: User, body: str) -> ChatMessage:
    room_id, _ = _message_room_for(message_id, by=by)  # before anything else: no oracle
    body = clean_body(body)
    with transaction.atomic():
        # The room's row lock comes first: the message is read after it, fresh.
        seq, kind = room_next_seq(room_id=room_id)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.author_id != by.id:
            raise Forbidden(gettext("Only the author may edit a message."))
        if message.deleted_at is not None:
            raise NotFound(gettext("That message was deleted."))
        body = check_text(room_kind=kind, author=by, body=body)
        if message.body == body:
            transaction.set_rollback(True)  # nothing changes: give the number back
            return message
        message.body, message.rev, message.edited_at = body, seq, timezone.now()
        message.mentions = mentions_resolve(room_id=room_id, kind=kind, body=body)  # (v1.1)
        message.save(update_fields=["body", "rev", "edited_at", "mentions"])
        mentions_record(message, notify=False, edited=True)
        _publish_message(message)
    return message


def message_delete(*, message_id: int, by: User) -> ChatMessage:
    """The author; staff in a room they can read; anywhere, a user with the permission to
    delete messages (a superuser has it). The body is cleared. Deleting twice changes
    nothing the second time."""
    room_id, readable = _message_room_for(message_id, by=by, moderating=True)
    with transaction.atomic():
        seq, _ = room_next_seq(room_id=room_id, allow_closed=True)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.author_id != by.id and not (
            (by.is_staff and readable) or by.has_perm(DELETE_PERMISSION)
        ):
            raise Forbidden(gettext("Only the author or staff may delete a message."))
        if message.deleted_at is not None:
            transaction.set_rollback(True)
            return message
        message.body, message.rev, message.deleted_at = "", seq, timezone.now()
        attachments_drop(message=message)  # files deleted after commit
        message.save(update_fields=["body", "rev", "deleted_at", "media"])
        _publish_message(message)
    return message


DELETE_PERMISSION = "messaging.delete_chatmessage"


def _message_room_for(
    message_id: object, *, by: User, moderating: bool = False
) -> tuple[int, bool]:
    """The message's room id, and whether ``by`` can read that room. A message in a room
    ``by`` cannot read is "not found" (as if it did not exist: no ``forbidden`` or
    ``room_closed`` that would tell it does), unless ``moderating`` and ``by`` holds the
    permission to delete messages."""
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise BadRequest(gettext("message must be a message id."))
    row = ChatMessage.objects.filter(pk=message_id).values_list("room_id", "room__kind").first()
    if row is None:
        raise NotFound(gettext("No such message."))
    room_id, kind = row
    readable = (
        kind == ChatRoom.PUBLIC or Membership.objects.filter(room_id=room_id, user=by).exists()
    )
    if not readable and not (moderating and by.has_perm(DELETE_PERMISSION)):
        raise NotFound(gettext("No such message."))
    return room_id, readable


def _message_room_id(message_id: object) -> int:
    """The message's room id, for moderation's own writes (hide, restore): no reader to check."""
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise BadRequest(gettext("message must be a message id."))
    room_id = ChatMessage.objects.filter(pk=message_id).values_list("room_id", flat=True).first()
    if room_id is None:
        raise NotFound(gettext("No such message."))
    return room_id


def _publish_message(message: ChatMessage, *, notify: bool = False) -> None:
    text = message_frame(message)
    publish_on_commit(
        room_group(message.room_id), "frame", text=text, room=message.room_id, rev=message.rev
    )
    if notify:
        note = encode({"type": "notify", "room": message.room_id, "message": message_data(message)})
        members = Membership.objects.filter(room_id=message.room_id, muted=False)
        for user_id in members.values_list("user_id", flat=True):
            publish_on_commit(
                user_group(user_id), "frame", text=note, unless_joined=message.room_id
            )


def room_mark_read(*, room: ChatRoom, user: User, seq: object) -> int | None:
    """Move the reader's place forward and tell the room; None if it did not move."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise BadRequest(gettext("seq must be a non-negative integer."))
    with transaction.atomic():
        moved = membership_mark_read(room=room, user=user, seq=seq)
        if moved is not None:
            text = encode({"type": "read", "room": room.id, "user": user_data(user), "seq": moved})
            publish_on_commit(room_group(room.id), "frame", text=text)
    return moved


def direct_room_open(*, listing: Listing, user: User) -> tuple[ChatRoom, bool]:
    """The one direct room for (listing, user); a new one is announced to the owner.

    A user blocked by the owner (or blocking them) cannot start one (``blocked``); a room
    that exists already still opens, showing ``blocked: true``.
    """
    if not _direct_room_exists(listing=listing, user=user) and blocked_between(
        user_id=user.id, other_id=listing.owner_id
    ):
        raise Blocked(gettext("You cannot start a conversation with this person."))
    with transaction.atomic():
        room, created = direct_room_get_or_create(listing=listing, user=user)
    if created:
        frame = encode({"type": "room", "room": room_data_for(room_id=room.id, user=listing.owner)})
        publish_on_commit(user_group(listing.owner_id), "frame", text=frame)
    return room, created


def _direct_room_exists(*, listing: Listing, user: User) -> bool:
    return ChatRoom.objects.filter(kind=ChatRoom.DIRECT, listing=listing, borrower=user).exists()


def message_hide(*, message_id: int) -> ChatMessage | None:
    """Hide a message as deleted, with a new rev, keeping its text for review (community
    reports); None if it was deleted already."""
    room_id = _message_room_id(message_id)
    with transaction.atomic():
        seq, _ = room_next_seq(room_id=room_id, allow_closed=True)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.deleted_at is not None:
            transaction.set_rollback(True)
            return None
        message.rev, message.deleted_at = seq, timezone.now()
        message.save(update_fields=["rev", "deleted_at"])
        _publish_message(message)
    return message


def message_restore(*, message_id: int) -> ChatMessage | None:
    """Show a hidden message again (another rev); None if it is not hidden or its text is
    gone (deleted by its author or staff)."""
    room_id = _message_room_id(message_id)
    with transaction.atomic():
        seq, _ = room_next_seq(room_id=room_id, allow_closed=True)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.deleted_at is None or not message.body:
            transaction.set_rollback(True)
            return None
        message.rev, message.deleted_at = seq, None
        message.save(update_fields=["rev", "deleted_at"])
        _publish_message(message)
    return message


def room_announce(*, room_id: int) -> None:
    """A ``room`` frame after the room changed (slow mode, closed, blocked): to each member
    of a direct room as they see it; to a public room's joined connections as anyone sees it
    (its per-reader fields, ``unread`` and the like, are left at their defaults)."""
    room = ChatRoom.objects.filter(pk=room_id).first()
    if room is None:
        return
    if room.kind == ChatRoom.DIRECT:
        for user in User.objects.filter(memberships__room_id=room_id):
            frame = encode({"type": "room", "room": room_data_for(room_id=room_id, user=user)})
            publish_on_commit(user_group(user.id), "frame", text=frame)
        return
    frame = encode({"type": "room", "room": room_data_shared(room=room)})
    publish_on_commit(room_group(room_id), "frame", text=frame)


# --- the WebSocket's entry points ------------------------------------------------------------
# Each write runs in ``collecting``: the events its commit published come back to the event
# loop, which publishes them itself (a send after its ack: the sender sees the ack first).

_amessage_send = in_db_thread(collecting(message_send))
_amessage_edit = in_db_thread(collecting(message_edit))
_amessage_delete = in_db_thread(collecting(message_delete))
_aroom_mark_read = in_db_thread(collecting(room_mark_read))


class Sent(NamedTuple):
    message: ChatMessage
    created: bool  # False: a retry, answered with the message stored before
    events: list[Event]  # its broadcast, for ``abroadcast`` once the sender has its ack


async def amessage_send(
    *,
    room_id: int,
    author: User,
    body: str,
    client_id: str,
    reply_to: object = None,
    attachments: object = None,
) -> Sent:
    """``message_send`` within the author's send rate (``RateLimited`` past it)."""
    await send_rate_check(user_id=author.id)
    (message, created), events = await _amessage_send(
        room_id=room_id,
        author=author,
        body=body,
        client_id=client_id,
        reply_to=reply_to,
        attachments=attachments,
    )
    return Sent(message, created, events)


async def amessage_edit(*, message_id: int, by: User, body: str) -> ChatMessage:
    """``message_edit`` within the author's write budget (shared with sends)."""
    await write_rate_check(user_id=by.id)
    message, events = await _amessage_edit(message_id=message_id, by=by, body=body)
    await abroadcast(events)
    return message


async def amessage_delete(*, message_id: int, by: User) -> ChatMessage:
    """``message_delete`` within the user's write budget (shared with sends)."""
    await write_rate_check(user_id=by.id)
    message, events = await _amessage_delete(message_id=message_id, by=by)
    await abroadcast(events)
    return message


async def aroom_mark_read(*, room: ChatRoom, user: User, seq: int) -> int | None:
    """``room_mark_read`` within the user's read budget."""
    await read_rate_check(user_id=user.id)
    moved, events = await _aroom_mark_read(room=room, user=user, seq=seq)
    await abroadcast(events)
    return moved


async def atyping_announce(*, room_id: int, user: User) -> bool:
    """Tell the room's others that ``user`` is typing, unless they were told within
    ``TYPING_INTERVAL`` (then nothing is sent: False)."""
    if not await typing_allowed(user_id=user.id, room_id=room_id):
        return False
    text = encode({"type": "typing", "room": room_id, "user": user_data(user)})
    await apublish(room_group(room_id), "frame", text=text, skip_user=user.id)
    return True


async def abroadcast(events: list[Event]) -> None:
    """Publish what a committed write produced. The write stands if this fails: receivers
    see a gap in revs at the next message (or rejoin by cursor) and sync."""
    try:
        await apublish_all(events)
    except STORE_ERRORS as exc:
        log.warning("broadcast failed, the write stands: %r", exc)
