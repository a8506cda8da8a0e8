"""Search (v1.1): messages whose body contains a string, in any language, newest first.

A substring search, not a word search: Korean has no spaces between many words, and people
search for parts of names and words. Both engines answer it from a trigram index:

- PostgreSQL: ``pg_trgm``'s GIN index on ``UPPER(body)`` (migration
  ``0004_message_search``), which serves Django's ``icontains`` as written
  (``UPPER(body::text) LIKE UPPER('%q%')``).
- SQLite: an FTS5 table with the ``trigram`` tokenizer (``messaging_search``: the body and
  the room of each live message), kept in step with ``messaging_chatmessage`` by triggers in
  the same transaction as every write — a send, an edit, a delete, a moderator's removal, a
  purge — so no write path can forget it. A trigram index needs 3 characters; a 2-character
  query reads the candidate rooms' messages with ``LIKE`` instead.

Only rooms the caller may read; keyset-paged by message id (``before``), never ``OFFSET``.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import User
from messaging.models import ChatMessage
from messaging.replies import with_related
from messaging.selectors import RoomSummary, room_summaries, rooms_with_summary
from rooms.models import ChatRoom, Membership
from rooms.selectors import room_get_for_user

PAGE = 20
QUERY_MIN, QUERY_MAX = 2, 100
FTS_TABLE = "messaging_search"


class SearchPage(NamedTuple):
    results: list[tuple[ChatMessage, RoomSummary]]  # newest first
    next_before: int | None  # the last result's id, if there may be more


def messages_search(
    *, user: User, q: str, room_id: int | None = None, before: int | None = None
) -> SearchPage:
    """Messages containing ``q`` (case-insensitive) that ``user`` may read, newest first, a
    page of ``PAGE`` below message id ``before``; in room ``room_id`` only if given (a room
    the user may not read is "not found")."""
    if room_id is not None:
        room_get_for_user(room_id=room_id, user=user)
    if connection.vendor == "sqlite" and len(q) >= 3:
        ids = _sqlite_match(user=user, q=q, room_id=room_id, before=before, limit=PAGE + 1)
        found = ChatMessage.objects.filter(pk__in=ids, deleted_at__isnull=True).order_by("-id")
    else:
        found = _readable(user=user, room_id=room_id).filter(
            body__icontains=q, deleted_at__isnull=True
        )
        if before is not None:
            found = found.filter(pk__lt=before)
        found = found.order_by("-id")
    messages = with_related(list(found[: PAGE + 1]))
    more = len(messages) > PAGE
    messages = messages[:PAGE]
    room_ids = {m.room_id for m in messages}
    rooms = rooms_with_summary(user=user).filter(pk__in=room_ids) if room_ids else []
    summaries = {s.room.id: s for s in room_summaries(rooms=list(rooms), user=user)}
    return SearchPage(
        [(m, summaries[m.room_id]) for m in messages], messages[-1].id if more else None
    )


def _readable(*, user: User, room_id: int | None) -> QuerySet[ChatMessage]:
    if room_id is not None:
        return ChatMessage.objects.filter(room_id=room_id)
    mine = Membership.objects.filter(user=user).values("room_id")
    return ChatMessage.objects.filter(Q(room__kind=ChatRoom.PUBLIC) | Q(room_id__in=mine))


def _sqlite_match(
    *, user: User, q: str, room_id: int | None, before: int | None, limit: int
) -> list[int]:
    """Ids of live messages matching ``q`` from the FTS5 trigram index, newest first.

    FTS5 walks its matches in rowid (message id) order, so ``ORDER BY rowid DESC LIMIT``
    stops after the first page of readable ones instead of collecting every match.
    """
    phrase = '"' + q.replace('"', '""') + '"'  # one phrase: the trigrams in a row, a substring
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
    params: list[str | int] = [phrase]
    if before is not None:
        sql += " AND rowid < %s"
        params.append(before)
    if room_id is not None:
        sql += " AND room = %s"
        params.append(room_id)
    else:
        sql += (
            f" AND room IN (SELECT id FROM {ChatRoom._meta.db_table} WHERE kind = %s"
            f" UNION SELECT room_id FROM {Membership._meta.db_table} WHERE user_id = %s)"
        )
        params += [ChatRoom.PUBLIC, user.id]
    sql += " ORDER BY rowid DESC LIMIT %s"
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
