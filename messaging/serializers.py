"""Wire objects of messaging: ``message``, ``room`` and the history page; frame encoding.

The declared fields are the definition: the OpenAPI schema is generated from them, and HTTP
and WebSocket send what they build. ``message`` is on the hot path (every broadcast encodes
one, a replay up to a thousand), so ``MessageSerializer.to_representation`` is the same
mapping written out flat (``message_data``), about ten times cheaper than DRF walking its
fields; a test holds the two equal. A broadcast is encoded to JSON once (``encode``) and the
same text goes to every receiver.
"""

from typing import Any

from rest_framework import serializers

from accounts.models import User
from accounts.serializers import UserSerializer, user_data
from chatsite.foundation.serializers import Timestamp
from chatsite.foundation.wire import encode, iso
from messaging.models import ChatMessage
from messaging.selectors import HistoryPage, RoomSummary, room_summary_get
from rooms.models import ChatRoom
from rooms.serializers import ListingSerializer


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

    def get_body(self, message: ChatMessage) -> str:
        return "" if message.deleted_at is not None else message.body

    def get_deleted(self, message: ChatMessage) -> bool:
        return message.deleted_at is not None

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
    }


def message_frame(message: ChatMessage) -> str:
    return encode({"type": "message", "message": message_data(message)})


class HistorySerializer(serializers.Serializer[HistoryPage]):
    """``GET /api/rooms/{id}/messages/``."""

    results = MessageSerializer(many=True, help_text="Ascending by seq.")
    has_more = serializers.BooleanField(help_text="Older messages exist.")


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
    online = serializers.IntegerField(help_text="Distinct users present.")
    is_closed = serializers.BooleanField(source="room.is_closed")
    muted = serializers.BooleanField(help_text="(v1.1) I muted this room's notifications.")


def room_data(summary: RoomSummary) -> dict[str, Any]:
    return RoomSerializer().to_representation(summary)


def room_data_for(*, room_id: int, user: User) -> dict[str, Any]:
    """The ``room`` object of one room as ``user`` sees it (reads the database)."""
    return room_data(room_summary_get(room_id=room_id, user=user))
