"""Deleting idle direct rooms (``manage.py purge_idle_rooms``)."""

from datetime import timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from chatsite.foundation.publish import publish_on_commit, user_group
from chatsite.foundation.wire import encode
from messaging.models import ChatMessage
from rooms.models import ChatRoom, Membership


def rooms_idle(*, idle_days: int, unused_hours: int) -> list[ChatRoom]:
    """Direct rooms nobody has written in for ``idle_days``, and direct rooms that never got
    a message ``unused_hours`` after they were made, by id."""
    now = timezone.now()
    last_message = (
        ChatMessage.objects.filter(room=OuterRef("pk")).order_by("-seq").values("created_at")[:1]
    )
    idle = (
        ChatRoom.objects.filter(kind=ChatRoom.DIRECT)
        .annotate(last_message_at=Subquery(last_message))
        .filter(
            Q(last_message_at__lt=now - timedelta(days=idle_days))
            | Q(last_message_at__isnull=True, created_at__lt=now - timedelta(hours=unused_hours))
        )
        .order_by("id")
    )
    return list(idle)


def rooms_purge_idle(
    *, idle_days: int = 30, unused_hours: int = 24, dry_run: bool = False
) -> list[ChatRoom]:
    """Delete the rooms ``rooms_idle`` finds (public rooms are never purged); the rooms
    deleted. Members' open sockets are told (``removed``) and the room leaves their inbox."""
    rooms = rooms_idle(idle_days=idle_days, unused_hours=unused_hours)
    if dry_run or not rooms:
        return rooms
    with transaction.atomic():
        members = Membership.objects.filter(room__in=rooms).values_list("room_id", "user_id")
        for room_id, user_id in members:
            text = encode({"type": "removed", "room": room_id})
            publish_on_commit(user_group(user_id), "forget", room=room_id, text=text)
        ChatRoom.objects.filter(pk__in=[room.pk for room in rooms]).delete()
    return rooms
