"""Reads: who blocks whom, who is muted where, which addresses may not mint guests."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from moderation.models import AddressBan, Block
from rooms.models import ChatRoom, Membership


def blocked_between(*, user_id: int, other_id: int) -> bool:
    """Either of the two blocks the other."""
    return Block.objects.filter(
        Q(blocker_id=user_id, blocked_id=other_id) | Q(blocker_id=other_id, blocked_id=user_id)
    ).exists()


def blocked_peers(*, user_id: int, peer_ids: Iterable[int]) -> set[int]:
    """Those of ``peer_ids`` that ``user_id`` blocks or is blocked by (one query)."""
    peers = set(peer_ids)
    if not peers:
        return set()
    found: set[int] = set()
    rows = Block.objects.filter(
        Q(blocker_id=user_id, blocked_id__in=peers) | Q(blocked_id=user_id, blocker_id__in=peers)
    ).values_list("blocker_id", "blocked_id")
    for blocker, blocked in rows:
        found.add(blocked if blocker == user_id else blocker)
    return found


def users_blocked_by(*, user: User) -> QuerySet[User]:
    """The users ``user`` blocks, most recently blocked first."""
    return User.objects.filter(blocks_received__blocker=user).order_by(
        "-blocks_received__created_at", "-id"
    )


def address_banned(*, address: str) -> bool:
    return AddressBan.objects.filter(address=address, until__gt=timezone.now()).exists()


def direct_rooms_between(*, user_id: int, other_id: int) -> list[int]:
    """The direct rooms whose two members are these two users."""
    theirs = Membership.objects.filter(user_id=other_id).values("room_id")
    return list(
        ChatRoom.objects.filter(
            kind=ChatRoom.DIRECT, memberships__user_id=user_id, pk__in=theirs
        ).values_list("pk", flat=True)
    )
