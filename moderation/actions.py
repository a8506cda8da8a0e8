"""Moderation that changes messages or rooms on the wire: reports, staff actions, blocks.

This module (with ``api``, ``admin`` and ``urls``) is the upper half of ``moderation``: it
sits above ``messaging`` (whose services hide, restore and remove messages and build the
``room`` frames), while the lower half (``services``, ``selectors``, ``rules``,
``challenges``, ``models``) sits below it, because ``messaging`` asks ``check_send`` on
every send. The import contracts in pyproject.toml hold the two halves apart.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from chatsite.foundation.errors import BadRequest, NotFound
from messaging.models import ChatMessage
from messaging.services import message_delete, message_hide, message_restore, room_announce
from moderation import services
from moderation.models import AutoHide, Report, RoomMute
from moderation.selectors import direct_rooms_between
from rooms.models import ChatRoom
from rooms.selectors import room_can_access, room_get_for_user
from rooms.services import room_set_closed

MUTES = {"mute_10m": 600, "mute_1h": 3600, "mute_1d": 86400}


def report_create(
    *,
    reporter: User,
    reason: object,
    note: object = "",
    message_id: object = None,
    user_id: object = None,
    room_id: object = None,
) -> tuple[Report, bool]:
    """A report of a message the reporter can read, or of a user (in a room they can see).

    A public message that reaches ``REPORT_AUTOHIDE`` distinct reporters old enough is
    hidden as deleted, with a new rev, until staff review it.
    """
    if not isinstance(reason, str):
        raise BadRequest(gettext("reason is required."))
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise BadRequest(gettext("note must be a string."))
    message: ChatMessage | None = None
    room: ChatRoom | None = None
    if message_id is not None:
        message = _readable_message(message_id=message_id, user=reporter)
        target, room = message.author, message.room
    elif user_id is not None:
        target = _user(user_id)
        if room_id is not None:
            room = room_get_for_user(room_id=_id(room_id, "room"), user=reporter)
    else:
        raise BadRequest(gettext('Report a "message", or a "user".'))
    with transaction.atomic():
        report, created = services.report_record(
            reporter=reporter,
            reason=reason,
            note=note.strip(),
            target=target,
            message_id=message.id if message else None,
            room_id=room.id if room else None,
        )
    if created and message is not None and room is not None:
        _maybe_autohide(message=message, room=room)
    return report, created


def _maybe_autohide(*, message: ChatMessage, room: ChatRoom) -> None:
    if room.kind != ChatRoom.PUBLIC or message.deleted_at is not None:
        return
    needed = settings.CHAT["REPORT_AUTOHIDE"]
    if needed <= 0:
        return
    count = services.reporters_count(
        message_id=message.id, older_than=settings.CHAT["REPORT_MIN_AGE"]
    )
    if count < needed:
        return
    with transaction.atomic():
        if message_hide(message_id=message.id) is not None:
            AutoHide.objects.update_or_create(
                message_id=message.id,
                defaults={"hidden_at": timezone.now(), "restored": False, "reviewed_at": None},
            )


def _readable_message(*, message_id: object, user: User) -> ChatMessage:
    """The message if ``user`` may read its room; "not found" otherwise."""
    message = (
        ChatMessage.objects.select_related("author", "room")
        .filter(pk=_id(message_id, "message"))
        .first()
    )
    if message is None or not room_can_access(room=message.room, user=user):
        raise NotFound(gettext("No such message."))
    return message


def _id(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequest(gettext("%(name)s must be an id.") % {"name": name})
    return value


def _user(user_id: object) -> User:
    user = User.objects.filter(pk=_id(user_id, "user")).first()
    if user is None:
        raise NotFound(gettext("No such user."))
    return user


def report_act(*, report: Report, action: str, by: User) -> str:
    """Staff act on a report: remove, mute_10m / mute_1h / mute_1d, kick, ban, dismiss or
    restore. It takes effect live and is recorded (who, when) on the report and on every
    other open report of the same message. What was done, for the admin to say."""
    message_id, room_id, target = report.message_id, report.room_id, report.target
    if action == "remove":
        if message_id is None:
            raise BadRequest(gettext("This report names no message."))
        message_delete(message_id=message_id, by=by)
        AutoHide.objects.filter(message_id=message_id).update(
            reviewed_by=by, reviewed_at=timezone.now()
        )
        done = "removed the message"
    elif action in MUTES or action == "kick":
        if room_id is None:
            raise BadRequest(gettext("This report names no room."))
        if action == "kick":
            services.room_kick(room_id=room_id, user=target, by=by)
            done = f"kicked {target}"
        else:
            services.room_mute(room_id=room_id, user=target, seconds=MUTES[action], by=by)
            done = f"muted {target}"
    elif action == "ban":
        services.user_ban_holding(user=target, by=by)
        done = f"banned {target}"
    elif action in ("dismiss", "restore"):
        # Nothing wrong after all: a message the community hid comes back.
        done = "dismissed" if action == "dismiss" else "restored the message"
        if message_id is not None and message_restore_reviewed(message_id=message_id, by=by):
            done = "restored the hidden message"
    else:
        raise BadRequest(gettext("Unknown action."))
    services.reports_resolve(report=report, action=action, by=by)
    return done


def message_restore_reviewed(*, message_id: int, by: User) -> bool:
    """Restore a message hidden by reports (another rev); False if it was not hidden so."""
    hidden = AutoHide.objects.filter(message_id=message_id, restored=False).first()
    if hidden is None:
        return False
    with transaction.atomic():
        message_restore(message_id=message_id)
        hidden.restored, hidden.reviewed_by, hidden.reviewed_at = True, by, timezone.now()
        hidden.save(update_fields=["restored", "reviewed_by", "reviewed_at"])
    return True


# --- blocks, mutes, kicks, slow mode from the API -----------------------------------------


def block_create(*, blocker: User, blocked_id: object) -> tuple[User, bool]:
    with transaction.atomic():
        blocked, created = services.block_create(blocker=blocker, blocked_id=blocked_id)
        if created:
            _announce_between(blocker, blocked)
    return blocked, created


def block_delete(*, blocker: User, blocked_id: object) -> User:
    with transaction.atomic():
        blocked, deleted = services.block_delete(blocker=blocker, blocked_id=blocked_id)
        if deleted:
            _announce_between(blocker, blocked)
    return blocked


def _announce_between(one: User, other: User) -> None:
    """Their direct rooms' ``blocked`` changed: each member gets a ``room`` frame."""
    for room_id in direct_rooms_between(user_id=one.id, other_id=other.id):
        room_announce(room_id=room_id)


def _staff_room(*, room_id: int, by: User) -> ChatRoom:
    if not by.is_staff:
        raise NotFound(gettext("No such room."))  # the staff API does not exist for others
    return room_get_for_user(room_id=room_id, user=by)


def staff_mute(*, room_id: int, user_id: object, seconds: object, by: User) -> RoomMute:
    room = _staff_room(room_id=room_id, by=by)
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise BadRequest(gettext("seconds must be an integer."))
    return services.room_mute(room_id=room.id, user=_user(user_id), seconds=seconds, by=by)


def staff_unmute(*, room_id: int, user_id: object, by: User) -> bool:
    room = _staff_room(room_id=room_id, by=by)
    return services.room_unmute(room_id=room.id, user=_user(user_id))


def staff_kick(*, room_id: int, user_id: object, by: User) -> RoomMute:
    room = _staff_room(room_id=room_id, by=by)
    return services.room_kick(room_id=room.id, user=_user(user_id), by=by)


def room_slow_mode_set(*, room_id: int, seconds: object, by: User | None) -> None:
    """Set slow mode (staff); joined connections get a ``room`` frame saying so."""
    if by is not None:
        _staff_room(room_id=room_id, by=by)
    with transaction.atomic():
        if services.room_slow_mode_set(room_id=room_id, seconds=seconds):
            room_announce(room_id=room_id)


def room_closed_set(*, room: ChatRoom, closed: bool) -> None:
    """Close or reopen a room; joined connections get a ``room`` frame saying so."""
    with transaction.atomic():
        if room.is_closed != closed:
            room_set_closed(room=room, closed=closed)
            room_announce(room_id=room.id)
