"""Reads: history, replay, and rooms with what a reader's room object says about them.

Selectors return models and plain values; ``messaging.serializers`` shapes them for the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, TypeAlias, TypedDict

from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import User
from chatsite.foundation.errors import NotFound
from messaging import ephemeral
from messaging.models import ChatMessage
from rooms.models import ChatRoom, Listing, Membership
from rooms.selectors import rooms_visible_to


class HistoryPage(NamedTuple):
    """A page of history: ``results`` ascending by seq; ``has_more``: older ones exist."""

    results: list[ChatMessage]
    has_more: bool


def messages_before(*, room: ChatRoom, before: int | None, limit: int) -> HistoryPage:
    """The ``limit`` messages just before ``before`` (or the latest), ascending, and whether
    older ones exist. Keyset on (room, seq): the same cost at any depth."""
    qs = ChatMessage.objects.filter(room=room)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = _with_authors(list(qs.order_by("-seq")[: limit + 1]))
    return HistoryPage(rows[:limit][::-1], len(rows) > limit)


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


class _Summary(TypedDict):
    my_last_read: int
    unread_count: int
    last_message_id: int | None
    my_muted: bool


if TYPE_CHECKING:  # subscripting WithAnnotations fails at run time on Python 3.11
    from django_stubs_ext import WithAnnotations

    SummarizedRoom: TypeAlias = WithAnnotations[ChatRoom, _Summary]


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """A room as one reader sees it: what the ``room`` wire object carries beyond the row."""

    room: ChatRoom
    peer: User | None  # direct rooms: the other member
    peer_last_read_seq: int | None  # direct rooms only
    last_message: ChatMessage | None
    unread: int
    online: int
    muted: bool = False  # (v1.1) I muted this room's notifications

    @property
    def listing(self) -> Listing | None:
        return self.room.listing if self.room.kind == ChatRoom.DIRECT else None


def rooms_with_summary(*, user: User, kind: str | None = None) -> QuerySet[SummarizedRoom]:
    """Visible rooms (of ``kind``, if given) annotated with what ``room_summaries`` needs,
    newest activity first.

    ``unread`` counts others' live messages after the reader's place. A public room the user
    never read in starts at its current end, so the lobby does not greet anyone with
    thousands of "unread" messages.
    """
    mine = Membership.objects.filter(room=OuterRef("pk"), user=user)
    my_read = mine.values("last_read_seq")[:1]
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
    rooms = rooms_visible_to(user=user)
    if kind is not None:
        rooms = rooms.filter(kind=kind)
    return rooms.select_related("listing__owner").annotate(
        my_last_read=Coalesce(
            Subquery(my_read),
            Case(When(kind=ChatRoom.PUBLIC, then=F("last_seq")), default=0),
            output_field=IntegerField(),
        ),
        unread_count=Coalesce(Subquery(unread), 0, output_field=IntegerField()),
        last_message_id=Subquery(last),
        my_muted=Coalesce(
            Subquery(mine.values("muted")[:1]), Value(False), output_field=BooleanField()
        ),
    )


def room_summaries(*, rooms: Sequence[SummarizedRoom], user: User) -> list[RoomSummary]:
    """Summaries of rooms from ``rooms_with_summary``, with three more queries in all."""
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
    summaries = []
    for room in rooms:
        peer = peers.get(room.id)
        direct = room.kind == ChatRoom.DIRECT
        summaries.append(
            RoomSummary(
                room=room,
                peer=peer.user if peer and direct else None,
                peer_last_read_seq=(peer.last_read_seq if peer else 0) if direct else None,
                last_message=messages.get(room.last_message_id) if room.last_message_id else None,
                unread=room.unread_count,
                online=online.get(room.id, 0),
                muted=room.my_muted,
            )
        )
    return summaries


def room_summary_get(*, room_id: int, user: User) -> RoomSummary:
    """One room's summary for ``user``; a room they may not see is "not found"."""
    room = rooms_with_summary(user=user).filter(pk=room_id).first()
    if room is None:
        raise NotFound("No such room.")
    return room_summaries(rooms=[room], user=user)[0]
