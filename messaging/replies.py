"""Replies (v1.1): a message answering another in the same room carries a preview of it.

The preview is not stored: it is built from the parent row each time the reply is read, so
a page of history or a replay shows the parent as it is now (edited, or deleted). A client
that already holds the reply learns of the parent's change from the parent's own ``message``
and redraws the previews pointing at it. Parents are loaded in bulk (``with_related``), never
one query per reply.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from accounts.models import User
from accounts.serializers import user_data
from chatsite.foundation.errors import BadRequest, NotFound
from messaging.models import ChatMessage

PREVIEW_CHARS = 200


def reply_parent_get(*, room_id: int, message_id: object) -> ChatMessage | None:
    """The message ``message_id`` names, with its author, if it is in ``room_id``;
    None for no ``reply_to``. Another room's message is "not found", as a missing one."""
    if message_id is None:
        return None
    if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id < 1:
        raise BadRequest(gettext("reply_to must be a message id."))
    parent = (
        ChatMessage.objects.filter(pk=message_id, room_id=room_id).select_related("author").first()
    )
    if parent is None:
        raise NotFound(gettext("No such message in this room to reply to."))
    return parent


def with_related(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Give each message its author and its reply parent (with the parent's author), loading
    each distinct one once: two queries for a whole page, whatever its size.

    ``select_related`` would build a User for every row, and a parent per reply.
    """
    parent_ids = {m.reply_to_id for m in messages if m.reply_to_id is not None}
    known = {m.id: m for m in messages}
    missing = parent_ids - known.keys()
    parents = dict(known)
    if missing:
        parents.update(ChatMessage.objects.in_bulk(missing))
    authors = User.objects.in_bulk(
        {m.author_id for m in messages} | {p.author_id for p in parents.values()}
    )
    for message in parents.values():
        message.author = authors[message.author_id]
    for message in messages:
        if message.reply_to_id is not None:
            # A parent gone (only with its whole room) leaves the reply without a preview.
            message.reply_to = parents.get(message.reply_to_id)
    return messages


def reply_data(parent: ChatMessage) -> dict[str, Any]:
    """The ``reply`` object (PROTOCOL.md) previewing ``parent``, the message replied to.

    Callers load parents beforehand (``with_related``, or ``select_related(*RELATED)``).
    """
    deleted = parent.deleted_at is not None
    return {
        "id": parent.id,
        "seq": parent.seq,
        "author": user_data(parent.author),
        "body": "" if deleted else parent.body[:PREVIEW_CHARS],
        "deleted": deleted,
    }


RELATED = ("author", "reply_to__author")  # for ``select_related`` of a single message
