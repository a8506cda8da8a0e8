"""Publishing to the channel layer: the one place events leave a write path.

Every event has our own type ``chat.event`` (never a client's frame type) and names the
group it was sent to, because each server process receives it once on its own channel and
fans it out to its local connections (``messaging.hub``). Everything in an event is a str,
int or None so it survives channels-redis' msgpack serialization.

``kind`` says what the hub does with it:

- ``frame``: write ``text`` (an already encoded wire frame) to every local connection in the
  group, except those of ``skip_user``, and — with ``unless_joined`` — except connections
  that have joined that room. ``room`` and ``rev`` let a connection that is still replaying
  drop a live copy of something it already sent.
- ``close``: close every local connection in the group with ``code``.
- ``forget``: the room ``room`` is gone; connections drop it and are told with ``text``.
"""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

EVENT_TYPE = "chat.event"


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def event(group: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": EVENT_TYPE, "group": group, "kind": kind, **fields}


async def apublish(group: str, kind: str, **fields: Any) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, event(group, kind, **fields))


def publish(group: str, kind: str, **fields: Any) -> None:
    async_to_sync(apublish)(group, kind, **fields)


def publish_on_commit(group: str, kind: str, **fields: Any) -> None:
    """Publish once the surrounding transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: publish(group, kind, **fields), robust=True)
