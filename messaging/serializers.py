"""Wire objects of messaging: ``message`` and ``room``, and frame encoding.

A broadcast is encoded to JSON once (``encode``) and the same text goes to every receiver.
"""

from typing import Any

from accounts.models import User
from accounts.serializers import user_data
from chatsite.foundation.wire import encode, iso
from messaging.models import ChatMessage
from rooms.models import ChatRoom
from rooms.serializers import listing_data


def message_data(message: ChatMessage) -> dict[str, Any]:
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


def room_data(
    room: ChatRoom,
    *,
    peer: User | None,
    peer_last_read_seq: int = 0,
    last_message: ChatMessage | None,
    unread: int,
    online: int,
) -> dict[str, Any]:
    direct = room.kind == ChatRoom.DIRECT
    return {
        "id": room.id,
        "kind": room.kind,
        "name": room.name,
        "listing": listing_data(room.listing) if direct and room.listing else None,
        "peer": user_data(peer) if direct and peer else None,
        # Beyond PROTOCOL.md (additive): how far the peer has read, so "Seen" survives a reload.
        "peer_last_read_seq": peer_last_read_seq if direct else None,
        "last_seq": room.last_seq,
        "last_message": message_data(last_message) if last_message else None,
        "unread": unread,
        "online": online,
        "is_closed": room.is_closed,
    }
