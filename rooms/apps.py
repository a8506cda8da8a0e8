from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class RoomsConfig(AppConfig):
    name = "rooms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rooms.models import ChatRoom

        # A room saved (closed, reopened, slow mode, renamed) or deleted: the join's cached
        # snapshot of it goes, in every process. (Messages move ``last_seq``
        # with an UPDATE that sends no signal: a snapshot's ``last_seq`` is never trusted.)
        post_save.connect(_room_changed, sender=ChatRoom, dispatch_uid="rooms.room_snapshot")
        post_delete.connect(_room_changed, sender=ChatRoom, dispatch_uid="rooms.room_snapshot_del")


def _room_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from rooms.selectors import room_changed

    room_changed(room_id=instance.pk)
