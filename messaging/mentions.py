"""Mentions (v1.1): ``@Nickname#1234`` in a body names a user.

Resolved on the server when a message is written: in a public room any user, in a direct
room only the peer (nobody else can read it). The ids go on the message (``mentions``, in
the order first written); a ``Mention`` row per mentioned user other than the author is
what ``mentions_unread`` counts, and a public room's new message mentioning someone is
announced to their sockets that have not joined the room (``notify``; a direct room's new
message is announced to both members anyway).
"""

from __future__ import annotations

import re

from django.db.models import Q

from accounts.models import User
from chatsite.foundation.publish import publish_on_commit, user_group
from chatsite.foundation.wire import encode
from messaging.models import ChatMessage, Mention
from messaging.serializers import message_data
from moderation.selectors import blocked_peers
from rooms.models import ChatRoom, Membership

# A nickname has no white space, '@' or '#'; a tag is four digits, not followed by a fifth.
MENTION_RE = re.compile(r"(?<![\w@])@([^\s@#]{1,32})#(\d{4})(?!\d)")
MENTIONS_MAX = 20  # distinct names looked up per message; more are left as plain text


def mentions_parse(body: str) -> list[tuple[str, str]]:
    """The distinct (nickname, tag) pairs written in ``body``, in order, at most MENTIONS_MAX."""
    found: dict[tuple[str, str], None] = {}
    for match in MENTION_RE.finditer(body):
        found.setdefault((match[1], match[2]), None)
        if len(found) == MENTIONS_MAX:
            break
    return list(found)


def mentions_resolve(*, room_id: int, kind: str, body: str) -> list[int]:
    """The ids of the users ``body`` mentions who may read room ``room_id`` (of ``kind``), in
    the order they are first written. One query; none for a body without ``@``."""
    names = mentions_parse(body) if "@" in body else []
    if not names:
        return []
    match = Q()
    for nickname, tag in names:
        match |= Q(nickname=nickname, tag=tag)
    users = User.objects.filter(match, is_active=True)
    if kind == ChatRoom.DIRECT:
        users = users.filter(pk__in=Membership.objects.filter(room_id=room_id).values("user_id"))
    ids = {(nickname, tag): pk for pk, nickname, tag in users.values_list("pk", "nickname", "tag")}
    return [ids[name] for name in names if name in ids]


def mentions_record(message: ChatMessage, *, notify: bool, edited: bool = False) -> None:
    """Store ``message.mentions`` as ``Mention`` rows (``edited``: replacing earlier ones), and
    with ``notify`` announce the message to the mentioned users' sockets outside the room.

    In the write's transaction; the author mentioning themself counts for nothing. A new
    message mentioning nobody costs no query (the send path).
    """
    others = [uid for uid in message.mentions if uid != message.author_id]
    if edited:
        Mention.objects.filter(message=message).exclude(user_id__in=others).delete()
    if not others:
        return
    Mention.objects.bulk_create(
        [
            Mention(message=message, user_id=uid, room_id=message.room_id, seq=message.seq)
            for uid in others
        ],
        ignore_conflicts=True,
    )
    if notify:
        # Never from a muted room or between users who block one another (PROTOCOL.md).
        quiet = set(
            Membership.objects.filter(
                room_id=message.room_id, user_id__in=others, muted=True
            ).values_list("user_id", flat=True)
        ) | blocked_peers(user_id=message.author_id, peer_ids=others)
        note = encode({"type": "notify", "room": message.room_id, "message": message_data(message)})
        for uid in others:
            if uid in quiet:
                continue
            publish_on_commit(user_group(uid), "frame", text=note, unless_joined=message.room_id)
