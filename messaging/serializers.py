"""Wire objects of messaging: ``message``, ``room`` and the history page; frame encoding.

The declared fields are the definition: the OpenAPI schema is generated from them, and HTTP
and WebSocket send what they build. ``message`` is on the hot path (every broadcast encodes
one, a replay up to a thousand), so ``MessageSerializer.to_representation`` is the same
mapping written out flat (``message_data``), about ten times cheaper than DRF walking its
fields; a test holds the two equal. A broadcast is encoded to JSON once (``encode``) and the
same text goes to every receiver.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.serializers import UserSerializer, user_data
from chatsite.foundation.serializers import Timestamp
from chatsite.foundation.wire import encode, iso
from images.serializers import AttachmentSerializer, attachment_data
from messaging.models import ChatMessage
from messaging.replies import reply_data
from messaging.search import SearchPage
from messaging.selectors import (
    AroundPage,
    HistoryPage,
    RoomSummary,
    room_summary_get,
    room_summary_shared,
)
from rooms.models import ChatRoom
from rooms.serializers import ListingSerializer


class ReplySerializer(serializers.Serializer[ChatMessage]):
    """(v1.1) ``reply``: a preview of the message replied to, as that message is now."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    author = UserSerializer()
    body = serializers.SerializerMethodField(help_text='Its first 200 characters; "" if deleted.')
    deleted = serializers.SerializerMethodField()

    def get_body(self, parent: ChatMessage) -> str:
        return "" if parent.deleted_at is not None else parent.body[:200]

    def get_deleted(self, parent: ChatMessage) -> bool:
        return parent.deleted_at is not None

    def to_representation(self, instance: ChatMessage) -> dict[str, Any]:
        return reply_data(instance)


class ReactionSerializer(serializers.Serializer[dict[str, Any]]):
    """(v1.1) One emoji on a message: how many reacted with it, and the first 50 of them."""

    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = serializers.ListField(child=serializers.IntegerField(), help_text="User ids.")


class MessageSerializer(serializers.Serializer[ChatMessage]):
    id = serializers.IntegerField()
    room = serializers.IntegerField(source="room_id")
    seq = serializers.IntegerField()
    rev = serializers.IntegerField()
    author = UserSerializer()
    body = serializers.SerializerMethodField(help_text='"" once deleted.')
    client_id = serializers.CharField()
    created_at = Timestamp()
    edited_at = Timestamp(allow_null=True)
    deleted = serializers.SerializerMethodField()
    reply_to = ReplySerializer(allow_null=True, help_text="(v1.1) The message answered.")
    mentions = serializers.SerializerMethodField(help_text="(v1.1) User ids mentioned in body.")
    reactions = serializers.SerializerMethodField(help_text="(v1.1) [] once deleted.")
    attachments = serializers.SerializerMethodField(help_text="(v1.1) At most 4; [] once deleted.")

    def get_body(self, message: ChatMessage) -> str:
        return "" if message.deleted_at is not None else message.body

    def get_deleted(self, message: ChatMessage) -> bool:
        return message.deleted_at is not None

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_mentions(self, message: ChatMessage) -> list[int]:
        return [] if message.deleted_at is not None else message.mentions

    @extend_schema_field(ReactionSerializer(many=True))
    def get_reactions(self, message: ChatMessage) -> list[dict[str, Any]]:
        return [] if message.deleted_at is not None else message.reactions
    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, message: ChatMessage) -> list[dict[str, Any]]:
        if message.deleted_at is not None:
            return []
        return [AttachmentSerializer(meta).data for meta in message.media]

    def to_representation(self, instance: ChatMessage) -> dict[str, Any]:
        return message_data(instance)


def message_data(message: ChatMessage) -> dict[str, Any]:
    """The ``message`` object: ``MessageSerializer``'s fields, built directly (the hot path)."""
    deleted = message.deleted_at is not None
    return {
        "id": message.id,
        "room": message.room_id,
        "seq": message.seq,
        "rev": message.rev,
        "author": user_data(message.author),
        "body": "" if deleted else message.body,
        "client_id": message.client_id,
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at),
        "deleted": deleted,
        # (v1.1) the parent is loaded with the message (``messaging.replies.with_related``)
        "reply_to": _reply(message),
        "mentions": [] if deleted else message.mentions,
        "reactions": [] if deleted else message.reactions,
        "attachments": [] if deleted else [attachment_data(meta) for meta in message.media],
    }


def _reply(message: ChatMessage) -> dict[str, Any] | None:
    if message.reply_to_id is None:
        return None
    parent = message.reply_to
    return None if parent is None else reply_data(parent)


def message_frame(message: ChatMessage) -> str:
    return encode({"type": "message", "message": message_data(message)})


class HistorySerializer(serializers.Serializer[HistoryPage]):
    """``GET /api/rooms/{id}/messages/``."""

    results = MessageSerializer(many=True, help_text="Ascending by seq.")
    has_more = serializers.BooleanField(
        help_text="Older messages exist (with ``after``: newer ones exist)."
    )


class AroundSerializer(serializers.Serializer[AroundPage]):
    """(v1.1) ``GET /api/rooms/{id}/messages/?around=<seq>``."""

    results = MessageSerializer(many=True, help_text="Ascending by seq.")
    has_more_before = serializers.BooleanField()
    has_more_after = serializers.BooleanField()


class RoomSerializer(serializers.Serializer[RoomSummary]):
    """The ``room`` object, for one reader (``unread``, ``peer`` are theirs)."""

    id = serializers.IntegerField(source="room.id")
    kind = serializers.ChoiceField(choices=ChatRoom.KINDS, source="room.kind")
    name = serializers.CharField(source="room.name")
    listing = ListingSerializer(allow_null=True, help_text="Direct rooms.")
    peer = UserSerializer(allow_null=True, help_text="Direct rooms: the other member.")
    # Beyond PROTOCOL.md's first version (additive): how far the peer has read, so "Seen"
    # survives a reload.
    peer_last_read_seq = serializers.IntegerField(allow_null=True, help_text="Direct rooms.")
    last_seq = serializers.IntegerField(source="room.last_seq")
    last_message = MessageSerializer(allow_null=True)
    unread = serializers.IntegerField(help_text="Messages by others after my last read.")
    mentions_unread = serializers.IntegerField(help_text="(v1.1) Unread ones mentioning me.")
    online = serializers.IntegerField(help_text="Distinct users present.")
    is_closed = serializers.BooleanField(source="room.is_closed")
    slow_mode = serializers.IntegerField(
        source="room.slow_mode", help_text="Seconds between a user's sends; 0 = off."
    )
    blocked = serializers.BooleanField(help_text="Direct rooms: either member blocked the other.")
    muted = serializers.BooleanField(help_text="(v1.1) I muted this room's notifications.")


def room_data(summary: RoomSummary) -> dict[str, Any]:
    return RoomSerializer().to_representation(summary)


def room_data_for(*, room_id: int, user: User) -> dict[str, Any]:
    """The ``room`` object of one room as ``user`` sees it (reads the database)."""
    return room_data(room_summary_get(room_id=room_id, user=user))


class SearchHitSerializer(serializers.Serializer[tuple[ChatMessage, RoomSummary]]):
    """(v1.1) One search result: the message and its room, as the caller sees it."""

    message = MessageSerializer()
    room = RoomSerializer()

    def to_representation(self, instance: tuple[ChatMessage, RoomSummary]) -> dict[str, Any]:
        message, room = instance
        return {"message": message_data(message), "room": room_data(room)}


class SearchPageSerializer(serializers.Serializer[SearchPage]):
    """(v1.1) ``GET /api/search/``."""

    results = SearchHitSerializer(many=True, help_text="Newest first, 20 a page.")
    next_before = serializers.IntegerField(
        allow_null=True, help_text="Pass as ``before`` for the next page; null at the end."
    )
def room_data_shared(*, room: ChatRoom) -> dict[str, Any]:
    """The ``room`` object of a public room as any reader sees it (``room_summary_shared``)."""
    return room_data(room_summary_shared(room=room))
