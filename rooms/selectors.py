"""Reads: who may be where."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from accounts.models import User
from chatsite.foundation.errors import NotFound
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
