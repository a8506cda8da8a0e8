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
from django.utils.translation import gettext

from accounts.models import User
from chatsite.foundation.errors import NotFound
from messaging import ephemeral
from messaging.models import ChatMessage, Mention
from messaging.replies import RELATED, with_related
from moderation.selectors import blocked_peers
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
    rows = with_related(list(qs.order_by("-seq")[: limit + 1]))
    return HistoryPage(rows[:limit][::-1], len(rows) > limit)


def messages_after(*, room: ChatRoom, after: int, limit: int) -> HistoryPage:
    """(v1.1) The ``limit`` messages just after ``after``, ascending; ``has_more``: newer ones
    exist. Keyset on (room, seq), as ``messages_before``."""
    qs = ChatMessage.objects.filter(room=room, seq__gt=after).order_by("seq")
    rows = with_related(list(qs[: limit + 1]))
    return HistoryPage(rows[:limit], len(rows) > limit)


class AroundPage(NamedTuple):
    """(v1.1) The message at a seq with its neighbours, ascending by seq."""

    results: list[ChatMessage]
    has_more_before: bool
    has_more_after: bool


def messages_around(*, room: ChatRoom, around: int, limit: int) -> AroundPage:
    """The message ``around`` (a seq), the ⌊(limit-1)/2⌋ before it and the rest of ``limit``
    after it (fewer at either end); ``NotFound`` if no message of the room has that seq."""
    middle = ChatMessage.objects.filter(room=room, seq=around).first()
    if middle is None:
        raise NotFound(gettext("No message with that seq in this room."))
    n_before = (limit - 1) // 2
    n_after = limit - 1 - n_before
    before = list(
        ChatMessage.objects.filter(room=room, seq__lt=around).order_by("-seq")[: n_before + 1]
    )
    after = list(
        ChatMessage.objects.filter(room=room, seq__gt=around).order_by("seq")[: n_after + 1]
    )
    rows = with_related([*before[:n_before][::-1], middle, *after[:n_after]])
    return AroundPage(rows, len(before) > n_before, len(after) > n_after)


def messages_changed_since(*, room_id: int, cursor: int, limit: int) -> list[ChatMessage]:
    """Messages whose latest change is after ``cursor``, ascending by rev (at most ``limit``)."""
    return with_related(
        list(ChatMessage.objects.filter(room_id=room_id, rev__gt=cursor).order_by("rev")[:limit])
    )


class _Summary(TypedDict):
    my_last_read: int
    unread_count: int
    mentions_read: int
    mentions_unread_count: int
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
    mentions_unread: int = 0  # (v1.1) unread messages mentioning the reader
    blocked: bool = False  # direct rooms: either member blocked the other
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
    # (v1.1) A Mention row is never the author's own (``messaging.mentions``). Unlike
    # ``unread``, a public room never read in counts from its start: a mention is for me.
    mentioned = (
        Mention.objects.filter(
            room=OuterRef("pk"),
            user=user,
            seq__gt=OuterRef("mentions_read"),
            message__deleted_at__isnull=True,
        )
        .order_by()
        .values("room")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last = ChatMessage.objects.filter(room=OuterRef("pk")).order_by("-seq").values("pk")[:1]
    rooms = rooms_visible_to(user=user)
    if kind is not None:
        rooms = rooms.filter(kind=kind)
    return (
        rooms.select_related("listing__owner", "listing__photo")
        .annotate(
            my_last_read=Coalesce(
                Subquery(my_read),
                Case(When(kind=ChatRoom.PUBLIC, then=F("last_seq")), default=0),
                output_field=IntegerField(),
            ),
            unread_count=Coalesce(Subquery(unread), 0, output_field=IntegerField()),
            mentions_read=Coalesce(Subquery(my_read), 0, output_field=IntegerField()),
            last_message_id=Subquery(last),
            my_muted=Coalesce(
                Subquery(mine.values("muted")[:1]), Value(False), output_field=BooleanField()
            ),
        )
        .annotate(
            mentions_unread_count=Coalesce(Subquery(mentioned), 0, output_field=IntegerField()),
        )
    )


def room_summaries(*, rooms: Sequence[SummarizedRoom], user: User) -> list[RoomSummary]:
    """Summaries of rooms from ``rooms_with_summary``, with three more queries in all."""
    ids = [room.id for room in rooms]
    last_ids = [room.last_message_id for room in rooms if room.last_message_id]
    messages = ChatMessage.objects.select_related(*RELATED).in_bulk(last_ids)
    peers = {
        m.room_id: m
        for m in Membership.objects.filter(room_id__in=ids, room__kind=ChatRoom.DIRECT)
        .exclude(user=user)
        .select_related("user")
    }
    online = ephemeral.online_counts(ids)
    blocked = blocked_peers(user_id=user.id, peer_ids=(m.user_id for m in peers.values()))
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
                mentions_unread=room.mentions_unread_count,
                blocked=bool(peer and direct and peer.user_id in blocked),
                muted=room.my_muted,
            )
        )
    return summaries


def room_summary_get(*, room_id: int, user: User) -> RoomSummary:
    """One room's summary for ``user``; a room they may not see is "not found"."""
    room = rooms_with_summary(user=user).filter(pk=room_id).first()
    if room is None:
        raise NotFound(gettext("No such room."))
    return room_summaries(rooms=[room], user=user)[0]


def room_summary_shared(*, room: ChatRoom) -> RoomSummary:
    """A public room as any reader sees it, for a ``room`` frame broadcast to the room: the
    per-reader fields (``unread``) at their defaults."""
    last = ChatMessage.objects.filter(room=room).select_related("author").order_by("-seq").first()
    online = ephemeral.online_counts([room.id]).get(room.id, 0)
    return RoomSummary(
        room=room, peer=None, peer_last_read_seq=None, last_message=last, unread=0, online=online
    )
