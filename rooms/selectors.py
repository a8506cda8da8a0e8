"""Reads: who may be where."""

from channels.db import database_sync_to_async
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from accounts.models import User
from chatsite.foundation.errors import NotFound
from chatsite.foundation.snapshots import asnapshot_get, snapshot_get, snapshot_invalidate
from rooms.models import ChatRoom, Listing, Membership


def rooms_visible_to(*, user: User) -> QuerySet[ChatRoom]:
    """Public rooms and the direct rooms ``user`` belongs to, most recent activity first."""
    mine = Membership.objects.filter(user=user).values("room_id")
    return ChatRoom.objects.filter(Q(kind=ChatRoom.PUBLIC) | Q(pk__in=mine)).order_by(
        "-last_activity_at", "-id"
    )


def room_get_for_user(*, room_id: int, user: User) -> ChatRoom:
    """The room if ``user`` may see it; a direct room of others is "not found", not forbidden."""
    room = (
        ChatRoom.objects.filter(pk=room_id)
        .select_related("listing__owner", "listing__photo")
        .first()
    )
    if room is None or not room_can_access(room=room, user=user):
        raise NotFound(gettext("No such room."))
    return room


def room_can_access(*, room: ChatRoom, user: User) -> bool:
    if room.kind == ChatRoom.PUBLIC:
        return True
    return Membership.objects.filter(room=room, user=user).exists()


# A room's own columns, as the socket's join needs them (no listing: a join never reads it).
_SNAPSHOT_FIELDS = tuple(f.attname for f in ChatRoom._meta.concrete_fields)
_KIND = _SNAPSHOT_FIELDS.index("kind")


def room_get_for_socket(*, room_id: int, user: User) -> ChatRoom:
    """As ``room_get_for_user``, for a socket's ``join``: the room's row from the snapshot
    cache (``foundation.snapshots``), so joining a public room costs no query; a direct room
    still asks whether ``user`` is a member. ``last_seq`` is as of when the snapshot was
    taken (messages move it without invalidating): never use it as the room's end."""
    return _room_checked(snapshot_get("room", room_id, lambda: _room_values(room_id)), user)


async def aroom_get_for_socket(*, room_id: int, user: User) -> ChatRoom:
    """``room_get_for_socket`` from the event loop: with an in-process cache a public
    room's snapshot is read without a hop to the database thread (``asnapshot_get``)."""
    values = await asnapshot_get("room", room_id, lambda: _room_values(room_id))
    if values is not None and values[_KIND] == ChatRoom.PUBLIC:
        return _room_checked(values, user)
    return await database_sync_to_async(room_get_for_socket)(room_id=room_id, user=user)


def _room_checked(values: tuple[object, ...] | None, user: User) -> ChatRoom:
    if values is None:
        raise NotFound(gettext("No such room."))
    room = ChatRoom.from_db("default", list(_SNAPSHOT_FIELDS), list(values))
    if not room_can_access(room=room, user=user):
        raise NotFound(gettext("No such room."))
    return room


def _room_values(room_id: int) -> tuple[object, ...] | None:
    row = ChatRoom.objects.filter(pk=room_id).values_list(*_SNAPSHOT_FIELDS).first()
    return None if row is None else tuple(row)


def room_changed(*, room_id: int) -> None:
    """The room's row changed or went: forget its snapshot everywhere."""
    snapshot_invalidate("room", room_id)


def room_last_seq(*, room_id: int) -> int:
    """The room's change counter as committed now (0 for a room that is gone)."""
    return ChatRoom.objects.filter(pk=room_id).values_list("last_seq", flat=True).first() or 0


def listings_all() -> QuerySet[Listing]:
    return Listing.objects.select_related("owner", "photo").order_by("-created_at", "-id")


def listing_get(*, listing_id: int) -> Listing:
    listing = Listing.objects.select_related("owner", "photo").filter(pk=listing_id).first()
    if listing is None:
        raise NotFound(gettext("No such listing."))
    return listing
