"""Deleting idle direct rooms (``manage.py purge_idle_rooms``)."""

from datetime import timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from chatsite.foundation.publish import publish_on_commit, user_group
from chatsite.foundation.wire import encode
from messaging.attachments import room_files_delete_on_commit
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
    deleted. Members' open sockets are told (``removed``) and the room leaves their inbox.

    The rooms are picked outside the transaction, and a message may land in one before it
    is deleted. So the delete locks the picked rows first and drops any whose change counter
    moved since the pick: every write to a room takes its next number on that row
    (``room_next_seq``, ``UPDATE … RETURNING``), so a write committed meanwhile shows in
    ``last_seq``, and a write still in progress holds the row and makes the lock wait until
    it commits (PostgreSQL then reads the row as committed).
    """
    picked = rooms_idle(idle_days=idle_days, unused_hours=unused_hours)
    if dry_run or not picked:
        return picked
    with transaction.atomic():
        now = dict(
            ChatRoom.objects.select_for_update()
            .filter(pk__in=[room.pk for room in picked])
            .order_by("id")
            .values_list("id", "last_seq")
        )
        rooms = [room for room in picked if now.get(room.pk) == room.last_seq]
        members = Membership.objects.filter(room__in=rooms).values_list("room_id", "user_id")
        for room_id, user_id in members:
            text = encode({"type": "removed", "room": room_id})
            publish_on_commit(user_group(user_id), "forget", room=room_id, text=text)
        room_files_delete_on_commit(room_ids=[room.pk for room in rooms])  # rows cascade
        ChatRoom.objects.filter(pk__in=[room.pk for room in rooms]).delete()
    return rooms
