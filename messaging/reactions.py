"""Reactions (v1.1): a user adds or removes one emoji on a message.

A reaction is a change like an edit: it takes the room's next number, the message gets it
as its ``rev``, and the whole message is broadcast, so a client that was away is replayed it
by cursor. The summary the wire carries (``[{"emoji", "count", "users"}]``, users: the first
50 by time) is kept on the message row, rewritten for the one emoji that changed under the
room's row lock, so reading a message never counts reactions. A broadcast is encoded once
for everyone: it carries user ids, and each client decides which reactions are its own.
"""

from __future__ import annotations

import emoji as emoji_lib
from django.db import transaction
from django.utils.translation import gettext

from accounts.models import User
from chatsite.foundation.errors import BadRequest, NotFound
from chatsite.foundation.publish import Event, collecting, publish_on_commit, room_group
from messaging.limits import write_rate_check
from messaging.models import ChatMessage, Reaction
from messaging.replies import RELATED
from messaging.serializers import message_frame
from messaging.threads import in_db_thread
from rooms.models import ChatRoom, Membership
from rooms.services import room_next_seq

EMOJI_MAX = 20  # different emoji on one message
USERS_SHOWN = 50  # user ids per emoji on the wire


def clean_emoji(value: object) -> str:
    """``value`` if it is exactly one emoji (a ZWJ sequence, a flag or a skin tone counts as
    one, as people see it); ``BadRequest`` for text, several emoji, or anything else."""
    if not isinstance(value, str) or not value or len(value) > 64:
        raise BadRequest(gettext("emoji must be a single emoji."))
    if emoji_lib.is_emoji(value):
        return value
    # A text-style emoji followed by VARIATION SELECTOR-16 is the same one drawn in colour.
    if value.endswith("\ufe0f") and emoji_lib.is_emoji(value[:-1]):
        return value
    raise BadRequest(gettext("emoji must be a single emoji."))


def message_react(
    *, message_id: object, user: User, emoji: object, on: object
) -> ChatMessage | None:
    """Add (``on``) or remove ``user``'s reaction ``emoji``; the message with its new rev,
    or None if that was so already (nothing changes, no number is taken)."""
    if not isinstance(on, bool):
        raise BadRequest(gettext("on must be true or false."))
    emoji = clean_emoji(emoji)
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise BadRequest(gettext("message must be a message id."))
    found = ChatMessage.objects.filter(pk=message_id).values_list("room_id", "room__kind").first()
    if found is None:
        raise NotFound(gettext("No such message."))
    room_id, kind = found
    member = Membership.objects.filter(room_id=room_id, user=user)
    if kind == ChatRoom.DIRECT and not member.exists():
        raise NotFound(gettext("No such message."))  # another's direct room: as if it did not exist
    with transaction.atomic():
        # The room's row lock first: reactions of one message are rewritten one at a time.
        seq, _ = room_next_seq(room_id=room_id)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.deleted_at is not None:
            raise NotFound(gettext("That message was deleted."))
        mine = Reaction.objects.filter(message=message, user=user, emoji=emoji)
        # One statement finds out and does it when removing (the delete's row count); an
        # add asks first, as the 20-emoji limit may refuse it.
        changed = not mine.exists() if on else mine.delete()[0] > 0
        if not changed:
            transaction.set_rollback(True)  # already so: give the number back
            return None
        held = [entry["emoji"] for entry in message.reactions]
        if on:
            if emoji not in held and len(held) >= EMOJI_MAX:
                raise BadRequest(
                    gettext("A message has at most %(emoji_max)s different reactions.")
                    % {"emoji_max": EMOJI_MAX}
                )
            Reaction.objects.create(message=message, user=user, emoji=emoji)
        message.reactions = _summary_with(message, emoji)
        message.rev = seq
        message.save(update_fields=["reactions", "rev"])
        text = message_frame(message)
        publish_on_commit(room_group(room_id), "frame", text=text, room=room_id, rev=seq)
    return message


def _summary_with(message: ChatMessage, emoji: str) -> list[dict[str, object]]:
    """``message.reactions`` with ``emoji``'s entry counted again (gone if nobody holds it);
    the others keep their places, a new emoji goes last."""
    rows = Reaction.objects.filter(message=message, emoji=emoji)
    # The first users and, when they are all of them (the usual case), the count with them:
    # one query; a second only past USERS_SHOWN.
    first = list(rows.order_by("id").values_list("user_id", flat=True)[: USERS_SHOWN + 1])
    count = len(first) if len(first) <= USERS_SHOWN else rows.count()
    entry = {"emoji": emoji, "count": count, "users": first[:USERS_SHOWN]} if count else None
    summary: list[dict[str, object]] = []
    placed = False
    for old in message.reactions:
        if old["emoji"] == emoji:
            placed = True
            if entry is not None:
                summary.append(entry)
        else:
            summary.append(old)
    if not placed and entry is not None:
        summary.append(entry)
    return summary


_amessage_react = in_db_thread(collecting(message_react))


async def amessage_react(
    *, message_id: object, user: User, emoji: object, on: object
) -> tuple[ChatMessage | None, list[Event]]:
    """``message_react`` within the user's write rate (reactions share the send budget);
    the events its commit published, for the caller to broadcast."""
    await write_rate_check(user_id=user.id)
    return await _amessage_react(message_id=message_id, user=user, emoji=emoji, on=on)
