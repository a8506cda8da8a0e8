"""Who is told about a message: the rules of PROTOCOL.md's "Moderation and notifications".

Each rule is one function, so the parts built by other apps plug in here:

- ``blocked_pairs`` — "never notify for blocked users" — answers nothing until the
  moderation app exists; wire it to its blocks (either side blocking the other).
- Mentions arrive as ``mentioned_user_ids`` (PROTOCOL.md's ``mentions``): a mention is one
  more input of ``recipients``, nothing else changes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from accounts.models import User
from messaging import ephemeral
from messaging.models import ChatMessage
from moderation.selectors import blocked_peers
from rooms.models import ChatRoom, Membership


def blocked_pairs(*, user_ids: Iterable[int], author_id: int) -> set[int]:
    """Those of ``user_ids`` who blocked the author, or whom the author blocked."""
    return blocked_peers(user_id=author_id, peer_ids=user_ids)


def recipients(*, message: ChatMessage, mentioned_user_ids: Collection[int]) -> list[int]:
    """Users owed a notification of ``message``: the other members of a direct room, and
    whoever it mentions who may read the room — less those who muted the room, who block or
    are blocked by the author, who already read it, and inactive (banned) accounts."""
    if message.deleted_at is not None:
        return []
    room: ChatRoom = message.room
    rows = Membership.objects.filter(room_id=room.id).only("user_id", "muted", "last_read_seq")
    members = {m.user_id: m for m in rows}
    # A direct room's members are all owed it (a mention there adds no one); in a public
    # room, whoever it mentions.
    wanted = set(members) if room.kind == ChatRoom.DIRECT else set(mentioned_user_ids)
    wanted.discard(message.author_id)
    kept: set[int] = set()
    for user_id in wanted:
        membership = members.get(user_id)
        if membership is not None and (membership.muted or membership.last_read_seq >= message.seq):
            continue
        kept.add(user_id)
    kept -= blocked_pairs(user_ids=kept, author_id=message.author_id)
    active = User.objects.filter(pk__in=kept, is_active=True).values_list("pk", flat=True)
    return sorted(active)


def absent_from_room(*, room_id: int, user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` none of whose connections has joined the room (any process)."""
    present = ephemeral.users_present(room_id)
    return {user_id for user_id in user_ids if user_id not in present}
