"""Reads: history, replay, and rooms as the wire shows them."""

from typing import Any

from django.db.models import Case, Count, F, IntegerField, OuterRef, QuerySet, Subquery, When
from django.db.models.functions import Coalesce

from accounts.models import User
from chatsite.foundation.errors import NotFound
from messaging import ephemeral
from messaging.models import ChatMessage
from messaging.serializers import room_data
from rooms.models import ChatRoom, Membership
from rooms.selectors import rooms_visible_to


def messages_before(
    *, room: ChatRoom, before: int | None, limit: int
) -> tuple[list[ChatMessage], bool]:
    """The ``limit`` messages just before ``before`` (or the latest), ascending, and whether
    older ones exist. Keyset on (room, seq): the same cost at any depth."""
    qs = ChatMessage.objects.filter(room=room)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = _with_authors(list(qs.order_by("-seq")[: limit + 1]))
    return rows[:limit][::-1], len(rows) > limit


def messages_changed_since(*, room_id: int, cursor: int, limit: int) -> list[ChatMessage]:
    """Messages whose latest change is after ``cursor``, ascending by rev (at most ``limit``)."""
    return _with_authors(
        list(ChatMessage.objects.filter(room_id=room_id, rev__gt=cursor).order_by("rev")[:limit])
    )


def _with_authors(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Give each message its author, loading each distinct author once.

    A page has few authors; ``select_related`` would build a User for every row.
    """
    authors = User.objects.in_bulk({message.author_id for message in messages})
    for message in messages:
        message.author = authors[message.author_id]
    return messages


def rooms_with_summary(*, user: User) -> QuerySet[ChatRoom]:
    """Visible rooms annotated with what the room object needs, newest activity first.

    ``unread`` counts others' live messages after the reader's place. A public room the user
    never read in starts at its current end, so the lobby does not greet anyone with
    thousands of "unread" messages.
    """
    my_read = Membership.objects.filter(room=OuterRef("pk"), user=user).values("last_read_seq")[:1]
    unread = (
        ChatMessage.objects.filter(
            room=OuterRef("pk"), seq__gt=OuterRef("my_last_read"), deleted_at__isnull=True
        )
        .exclude(author=user)
        .order_by()
        .values("room")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last = ChatMessage.objects.filter(room=OuterRef("pk")).order_by("-seq").values("pk")[:1]
    return (
        rooms_visible_to(user=user)
        .select_related("listing__owner")
        .annotate(
            my_last_read=Coalesce(
                Subquery(my_read),
                Case(When(kind=ChatRoom.PUBLIC, then=F("last_seq")), default=0),
                output_field=IntegerField(),
            ),
            unread_count=Coalesce(Subquery(unread), 0, output_field=IntegerField()),
            last_message_id=Subquery(last),
        )
    )


def rooms_data(*, rooms: list[ChatRoom], user: User) -> list[dict[str, Any]]:
    """Serialize rooms from ``rooms_with_summary`` with three more queries in all."""
    ids = [room.id for room in rooms]
    last_ids = [room.last_message_id for room in rooms if room.last_message_id]
    messages = ChatMessage.objects.select_related("author").in_bulk(last_ids)
    peers = {
        m.room_id: m
        for m in Membership.objects.filter(room_id__in=ids, room__kind=ChatRoom.DIRECT)
        .exclude(user=user)
        .select_related("user")
    }
    online = ephemeral.online_counts(ids)
    return [
        room_data(
            room,
            peer=peers[room.id].user if room.id in peers else None,
            peer_last_read_seq=peers[room.id].last_read_seq if room.id in peers else 0,
            last_message=messages.get(room.last_message_id),
            unread=room.unread_count,
            online=online.get(room.id, 0),
        )
        for room in rooms
    ]


def room_data_for(*, room_id: int, user: User) -> dict[str, Any]:
    room = rooms_with_summary(user=user).filter(pk=room_id).first()
    if room is None:
        raise NotFound("No such room.")
    return rooms_data(rooms=[room], user=user)[0]
