"""Writes for messages. Each takes the room's next number in the same transaction as the
write and publishes after commit, so HTTP, admin and WebSocket behave the same."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.serializers import user_data
from chatsite.foundation.errors import BadRequest, Empty, Forbidden, NotFound, TooLong
from chatsite.foundation.publish import publish_on_commit, room_group, user_group
from chatsite.foundation.wire import encode
from messaging.models import ChatMessage
from messaging.selectors import room_data_for
from messaging.serializers import message_data, message_frame
from rooms.models import ChatRoom, Listing, Membership
from rooms.services import direct_room_get_or_create, membership_mark_read, room_next_seq

CLIENT_ID_MAX = 64


def clean_body(body: object) -> str:
    """1 to BODY_MAX characters once trimmed; stored as typed otherwise."""
    if not isinstance(body, str):
        raise BadRequest("body must be a string.")
    body = body.strip()
    if not body:
        raise Empty()
    limit = settings.CHAT["BODY_MAX"]
    if len(body) > limit:
        raise TooLong(f"A message has at most {limit} characters.")
    return body


def clean_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX:
        raise BadRequest(f"client_id must be a string of 1 to {CLIENT_ID_MAX} characters.")
    return client_id


def message_send(
    *, room_id: int, author: User, body: str, client_id: str
) -> tuple[ChatMessage, bool]:
    """Store a message once per (author, client_id); ``True`` if it was stored now.

    A retry with a ``client_id`` already stored returns that message and publishes nothing.
    """
    client_id = clean_client_id(client_id)
    body = clean_body(body)
    # Insert first: a retry is rare, so it pays the extra read, not every first send.
    try:
        with transaction.atomic():
            seq, kind = room_next_seq(room_id=room_id)
            message = ChatMessage.objects.create(
                room_id=room_id, author=author, body=body, client_id=client_id, seq=seq, rev=seq
            )
            _publish_message(message, notify=kind == ChatRoom.DIRECT)
    except IntegrityError:
        # Stored already (a retry, or a concurrent one that won); the rollback gave back the
        # number we took.
        if existing := _message_by_client_id(author=author, client_id=client_id):
            return existing, False
        raise
    return message, True


def _message_by_client_id(*, author: User, client_id: str) -> ChatMessage | None:
    return (
        ChatMessage.objects.filter(author=author, client_id=client_id)
        .select_related("author")
        .first()
    )


def message_edit(*, message_id: int, by: User, body: str) -> ChatMessage:
    body = clean_body(body)
    room_id = _message_room_id(message_id)
    with transaction.atomic():
        # The room's row lock comes first: the message is read after it, fresh.
        seq, _ = room_next_seq(room_id=room_id)
        message = ChatMessage.objects.select_related("author").get(pk=message_id)
        if message.author_id != by.id:
            raise Forbidden("Only the author may edit a message.")
        if message.deleted_at is not None:
            raise NotFound("That message was deleted.")
        if message.body == body:
            transaction.set_rollback(True)  # nothing changes: give the number back
            return message
        message.body, message.rev, message.edited_at = body, seq, timezone.now()
        message.save(update_fields=["body", "rev", "edited_at"])
        _publish_message(message)
    return message


def message_delete(*, message_id: int, by: User) -> ChatMessage:
    """Author or staff; the body is cleared. Deleting twice changes nothing the second time."""
    room_id = _message_room_id(message_id)
    with transaction.atomic():
        seq, _ = room_next_seq(room_id=room_id, allow_closed=True)
        message = ChatMessage.objects.select_related("author").get(pk=message_id)
        if message.author_id != by.id and not by.is_staff:
            raise Forbidden("Only the author or staff may delete a message.")
        if message.deleted_at is not None:
            transaction.set_rollback(True)
            return message
        message.body, message.rev, message.deleted_at = "", seq, timezone.now()
        message.save(update_fields=["body", "rev", "deleted_at"])
        _publish_message(message)
    return message


def _message_room_id(message_id: object) -> int:
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise BadRequest("message must be a message id.")
    room_id = ChatMessage.objects.filter(pk=message_id).values_list("room_id", flat=True).first()
    if room_id is None:
        raise NotFound("No such message.")
    return room_id


def _publish_message(message: ChatMessage, *, notify: bool = False) -> None:
    text = message_frame(message)
    publish_on_commit(
        room_group(message.room_id), "frame", text=text, room=message.room_id, rev=message.rev
    )
    if notify:
        note = encode({"type": "notify", "room": message.room_id, "message": message_data(message)})
        for user_id in Membership.objects.filter(room_id=message.room_id).values_list(
            "user_id", flat=True
        ):
            publish_on_commit(
                user_group(user_id), "frame", text=note, unless_joined=message.room_id
            )


def room_mark_read(*, room: ChatRoom, user: User, seq: object) -> int | None:
    """Move the reader's place forward and tell the room; None if it did not move."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise BadRequest("seq must be a non-negative integer.")
    with transaction.atomic():
        moved = membership_mark_read(room=room, user=user, seq=seq)
        if moved is not None:
            text = encode({"type": "read", "room": room.id, "user": user_data(user), "seq": moved})
            publish_on_commit(room_group(room.id), "frame", text=text)
    return moved


def direct_room_open(*, listing: Listing, user: User) -> tuple[ChatRoom, bool]:
    """The one direct room for (listing, user); a new one is announced to the owner."""
    with transaction.atomic():
        room, created = direct_room_get_or_create(listing=listing, user=user)
    if created:
        frame = encode({"type": "room", "room": room_data_for(room_id=room.id, user=listing.owner)})
        publish_on_commit(user_group(listing.owner_id), "frame", text=frame)
    return room, created
