"""Who is told about a message: the rules of PROTOCOL.md's "Moderation and notifications".

Each rule is one function, so the parts built by other apps plug in here:

- ``blocked_pairs`` — "never notify for blocked users" — answers nothing until the
  moderation app exists; wire it to its blocks (either side blocking the other).
- Mentions are read from the message (``ChatMessage.mentions``, PROTOCOL.md's ``mentions``):
  a mention is one more input of ``recipients_of``, nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from accounts.models import User
from messaging import ephemeral
from messaging.models import ChatMessage
from moderation.selectors import blocked_peers
from rooms.models import ChatRoom, Membership


def blocked_pairs(*, user_ids: Iterable[int], author_id: int) -> set[int]:
    """Those of ``user_ids`` who blocked the author, or whom the author blocked."""
    return blocked_peers(user_id=author_id, peer_ids=user_ids)


def recipients(*, message: ChatMessage) -> list[int]:
    """Users owed a notification of ``message`` (see ``recipients_of``)."""
    return recipients_of(room=message.room, messages=[message])[message.pk]


def recipients_of(*, room: ChatRoom, messages: Sequence[ChatMessage]) -> dict[int, list[int]]:
    """For each of ``messages`` (all in ``room``), the users owed a notification of it: the
    other members of a direct room, and whoever it mentions (``ChatMessage.mentions``) —
    less those who muted the room, who block or are blocked by the author, who already
    read it, and inactive (banned) accounts. A few queries for the lot, not per message."""
    rows = Membership.objects.filter(room_id=room.pk).only("user_id", "muted", "last_read_seq")
    members = {m.user_id: m for m in rows}
    wanted: dict[int, set[int]] = {}
    for message in messages:
        if message.deleted_at is not None:
            wanted[message.pk] = set()
            continue
        # A direct room's members are all owed it (a mention there adds no one); in a
        # public room, whoever it mentions.
        users = set(members) if room.kind == ChatRoom.DIRECT else set(message.mentions or ())
        users.discard(message.author_id)
        for user_id in list(users):
            membership = members.get(user_id)
            if membership is not None and (
                membership.muted or membership.last_read_seq >= message.seq
            ):
                users.discard(user_id)
        wanted[message.pk] = users
    everyone = set().union(*wanted.values())
    if not everyone:
        return {pk: [] for pk in wanted}
    blocked = {
        author_id: blocked_pairs(user_ids=everyone, author_id=author_id)
        for author_id in {m.author_id for m in messages}
    }
    active = set(User.objects.filter(pk__in=everyone, is_active=True).values_list("pk", flat=True))
    return {m.pk: sorted((wanted[m.pk] & active) - blocked[m.author_id]) for m in messages}


def absent_from_room(*, room_id: int, user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` none of whose connections has joined the room (any process)."""
    present = ephemeral.users_present(room_id)
    return {user_id for user_id in user_ids if user_id not in present}
