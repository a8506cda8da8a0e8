"""Client frames in, replies out: parse and check shape, and build the frames that answer
one connection (``joined``, ``left``, ``ack``, ``reset``, ``error``, ``pong``). Frames to a
room are built where they are published (``messaging.services``, ``messaging.hub``).
Nothing here touches state."""

from typing import Any

import orjson
from django.utils.translation import gettext

from chatsite.foundation.errors import BadRequest, ChatError
from chatsite.foundation.wire import encode
from messaging.models import ChatMessage
from messaging.serializers import message_data

Frame = dict[str, Any]  # a client frame that passed ``check_frame``

# type -> required fields and their kinds ("id": a non-negative int, "str": a string)
FRAMES: dict[str, dict[str, str]] = {
    "join": {"room": "id"},
    "leave": {"room": "id"},
    "send": {"room": "id", "body": "str", "client_id": "str"},
    "edit": {"message": "id", "body": "str"},
    "delete": {"message": "id"},
    "react": {"message": "id", "emoji": "str"},  # (v1.1) and ``on``, checked by its service
    "typing": {"room": "id"},
    "read": {"room": "id", "seq": "id"},
    "sync": {"room": "id", "cursor": "id"},
    "auth": {"token": "str"},
    "ping": {},
}
OPTIONAL: dict[str, dict[str, str]] = {
    "join": {"cursor": "id"},
    "send": {"reply_to": "id"},  # (v1.1)
}


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def parse_json(text: str) -> dict[str, Any]:
    """The frame as a dict, unchecked; ``BadRequest`` if it is not a JSON object."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(gettext("A frame must be a JSON object.")) from exc
    if not isinstance(frame, dict):
        raise BadRequest(gettext("A frame must be a JSON object."))
    return frame


def check_frame(frame: dict[str, Any]) -> dict[str, Any]:
    """The frame if its type is known and its fields have the right kinds, else ``BadRequest``."""
    kind = frame.get("type")
    if not isinstance(kind, str) or kind not in FRAMES:
        raise BadRequest(gettext("Unknown frame type %(type)s.") % {"type": repr(str(kind)[:40])})
    for fields, required in ((FRAMES[kind], True), (OPTIONAL.get(kind, {}), False)):
        for name, sort in fields.items():
            value = frame.get(name)
            if value is None:
                if required:
                    raise BadRequest(
                        gettext("'%(kind)s' needs '%(name)s'.") % {"kind": kind, "name": name}
                    )
                continue
            if sort == "id" and not _is_id(value):
                raise BadRequest(
                    gettext("'%(name)s' must be a non-negative integer.") % {"name": name}
                )
            if sort == "str" and not isinstance(value, str):
                raise BadRequest(gettext("'%(name)s' must be a string.") % {"name": name})
    return frame


def frame_ref(frame: Any) -> str | None:
    ref = frame.get("ref") if isinstance(frame, dict) else None
    return ref[:200] if isinstance(ref, str) else None


def error_frame(exc: ChatError, *, ref: str | None = None) -> str:
    data = {"type": "error", **exc.as_dict()}
    if ref is not None:
        data["ref"] = ref
    return encode(data)


def ack_frame(message: ChatMessage, *, ref: str | None = None) -> str:
    data = {"type": "ack", "client_id": message.client_id, "message": message_data(message)}
    if ref is not None:
        data["ref"] = ref
    return encode(data)


def joined_frame(*, room: int, cursor: int, online: int, users: list[dict[str, Any]]) -> str:
    frame = {"type": "joined", "room": room, "cursor": cursor, "online": online, "users": users}
    return encode(frame)


def left_frame(*, room: int) -> str:
    return encode({"type": "left", "room": room})


def reset_frame(*, room: int, cursor: int) -> str:
    return encode({"type": "reset", "room": room, "cursor": cursor})


PONG = encode({"type": "pong"})
