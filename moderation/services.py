"""Writes of moderation, and the one question the send path asks: ``check_send``.

``messaging`` calls ``check_send`` in ``message_send`` (and ``check_text`` in an edit): it
says whether the send may go through — the author is not muted in the room, not blocked by
(or blocking) the other member of a direct room, not inside the room's slow mode, and the
text passes the content rules — and what its text becomes (masked). Everything it needs
is one or two indexed reads; the content rules come compiled from memory
(``moderation.rules``).

Writes here publish only what the foundation can build (a ``left`` frame for a kick, a rule
refresh); the ``room`` frames a block or slow mode change sends are built by ``messaging``
and published by ``moderation.actions``, the layer above both.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy, ngettext
from rest_framework import status

from accounts.models import User
from accounts.services import user_ban
from chatsite.foundation.codes import Code
from chatsite.foundation.errors import BadRequest, ChatError, NotFound
from chatsite.foundation.publish import publish_on_commit, user_group
from chatsite.foundation.wire import encode
from moderation import rules
from moderation.models import AddressBan, Block, ContentRule, GuestOrigin, Report, RoomMute
from rooms.models import ChatRoom, Membership

KICK_MUTE = timedelta(minutes=10)
SLOW_MODE_MAX = 6 * 3600


class Blocked(ChatError):
    code = Code.BLOCKED
    status = status.HTTP_403_FORBIDDEN
    default_detail = gettext_lazy(
        "You and this person have blocked one another; messages cannot be sent."
    )


class Muted(ChatError):
    code = Code.MUTED
    status = status.HTTP_403_FORBIDDEN
    default_detail = gettext_lazy("Staff muted you in this room.")


class SlowMode(ChatError):
    code = Code.SLOW_MODE
    status = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = gettext_lazy("This room is in slow mode.")


def _seconds_left(until: float) -> int:
    return max(1, math.ceil(until - time.time()))


# --- the send path ------------------------------------------------------------------------


class SendState(NamedTuple):
    """What ``check_send`` reads of a (room, author): the room's kind and slow mode, and the
    end of a mute of the author running now (None if none)."""

    kind: str
    slow_mode: int
    muted_until: datetime | None
    found: bool = True  # False: no such room


NO_ROOM = SendState("", 0, None, found=False)


def send_states(*, sends: Sequence[tuple[int, int]]) -> list[SendState]:
    """``check_send``'s read for each (room id, author id) of a group of sends, in one query
    (``NO_ROOM`` for a room that does not exist)."""
    if not sends:
        return []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = " UNION ALL ".join([_send_state_sql()] * len(sends))
    params = [
        x for i, (room_id, author_id) in enumerate(sends) for x in (i, author_id, now, room_id)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    states = [NO_ROOM] * len(sends)
    for i, kind, slow_mode, until in rows:
        states[int(i)] = SendState(kind, int(slow_mode), _as_datetime(until))
    return states


def check_send(*, room_id: int, author: User, body: str, state: SendState | None = None) -> str:
    """The text to store for this send, or a ``ChatError`` saying why it may not be sent:
    ``muted`` / ``slow_mode`` (with ``retry_after``), ``blocked``, ``filtered``.

    Takes the author's slow-mode turn in the room when it lets the send through: a caller
    that finds the send was stored before (a retry) answers with that message instead.
    ``state``: this send's ``send_states`` (a group of sends reads them together); read here
    otherwise.
    """
    # One read: the room's kind and slow mode, and the end of a mute running now. Plain SQL:
    # the ORM spent ten times the query's own time building it, on every send.
    if state is None:
        (state,) = send_states(sends=[(room_id, author.id)])
    if not state.found:
        raise NotFound(gettext("No such room."))
    kind, slow_mode, until, _ = state
    if until is not None and until > timezone.now():
        left = _seconds_left(until.timestamp())
        raise Muted(
            gettext("Staff muted you in this room for %(duration)s.")
            % {"duration": _duration(left)},
            retry_after=left,
        )
    if kind == ChatRoom.DIRECT:
        with connection.cursor() as cursor:
            cursor.execute(_blocked_sql(), [author.id, author.id, room_id, author.id])
            if cursor.fetchone() is not None:
                raise Blocked()
    body = check_text(room_kind=kind, author=author, body=body)
    if slow_mode > 0 and not author.is_staff:
        _slow_mode_take(room_id=room_id, user_id=author.id, seconds=slow_mode)
    return body


@functools.cache
def _send_state_sql() -> str:
    room, mute = ChatRoom._meta.db_table, RoomMute._meta.db_table
    return (
        f"SELECT %s, r.kind, r.slow_mode, (SELECT MAX(m.until) FROM {mute} m"
        f" WHERE m.room_id = r.id AND m.user_id = %s AND m.until > %s)"
        f" FROM {room} r WHERE r.id = %s"
    )


@functools.cache
def _blocked_sql() -> str:
    """A block between the sender and another member of the (direct) room."""
    block, member = Block._meta.db_table, Membership._meta.db_table
    return (
        f"SELECT 1 FROM {member} mm JOIN {block} b ON"
        f" (b.blocker_id = %s AND b.blocked_id = mm.user_id)"
        f" OR (b.blocked_id = %s AND b.blocker_id = mm.user_id)"
        f" WHERE mm.room_id = %s AND mm.user_id <> %s LIMIT 1"
    )


def _as_datetime(value: object) -> datetime | None:
    """A time from a raw aggregate: a datetime (PostgreSQL) or its text (SQLite, UTC)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"not a time: {value!r}")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def check_text(*, room_kind: str, author: User, body: str) -> str:
    """The content rules (and the new-guest link delay, and contact masking) on ``body``."""
    scope = "direct" if room_kind == ChatRoom.DIRECT else "public"
    body = rules.apply_rules(rules.rules_for(scope), body)
    if scope == "public" and author.is_guest:
        delay = settings.CHAT["NEW_GUEST_LINK_DELAY"]
        age = (timezone.now() - author.date_joined).total_seconds()
        if age < delay and rules.has_link(body):
            raise rules.Filtered(rules.DETAIL["new_guest_link"])
    if scope == "direct" and settings.CHAT["MASK_CONTACTS"]:
        body = rules.mask_contacts(body)
    return body


def _slow_mode_take(*, room_id: int, user_id: int, seconds: int) -> None:
    """One send per ``seconds`` per user in the room, across processes (Django's cache: Redis
    when configured)."""
    key = f"slow:{room_id}:{user_id}"
    deadline = time.time() + seconds
    if cache.add(key, deadline, timeout=seconds):
        return
    held = cache.get(key)
    left = _seconds_left(float(held)) if isinstance(held, int | float) else seconds
    raise SlowMode(
        gettext("Slow mode: you can send here again in %(left)s s.") % {"left": left},
        retry_after=left,
    )


def _duration(seconds: int) -> str:
    if seconds < 90:
        return gettext("%(count)s s") % {"count": seconds}
    if seconds < 90 * 60:
        return gettext("%(count)s min") % {"count": round(seconds / 60)}
    if seconds < 36 * 3600:
        return gettext("%(count)s h") % {"count": round(seconds / 3600)}
    days = round(seconds / 86400)
    return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}


# --- blocks -------------------------------------------------------------------------------


def block_create(*, blocker: User, blocked_id: object) -> tuple[User, bool]:
    """``blocker`` blocks the user ``blocked_id``; the user, and whether it is new."""
    blocked = _user(blocked_id)
    if blocked.id == blocker.id:
        raise BadRequest(gettext("You cannot block yourself."))
    try:
        with transaction.atomic():
            _, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    except IntegrityError:  # a concurrent block of the same pair won
        created = False
    return blocked, created


def block_delete(*, blocker: User, blocked_id: object) -> tuple[User, bool]:
    blocked = _user(blocked_id)
    deleted, _ = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
    return blocked, deleted > 0


def _user(user_id: object) -> User:
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise BadRequest(gettext("user must be a user id."))
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(gettext("No such user."))
    return user


# --- room moderation ----------------------------------------------------------------------


@transaction.atomic
def room_mute(
    *, room_id: int, user: User, seconds: int, by: User | None, reason: str = ""
) -> RoomMute:
    """Mute ``user`` in the room for ``seconds`` from now (replacing a shorter one)."""
    if not 1 <= seconds <= 366 * 86400:
        raise BadRequest(gettext("A mute lasts 1 second to a year."))
    until = timezone.now() + timedelta(seconds=seconds)
    return RoomMute.objects.create(room_id=room_id, user=user, until=until, by=by, reason=reason)


@transaction.atomic
def room_unmute(*, room_id: int, user: User) -> bool:
    """End ``user``'s mutes in the room now; False if none was running."""
    now = timezone.now()
    return bool(
        RoomMute.objects.filter(room_id=room_id, user=user, until__gt=now).update(until=now)
    )


@transaction.atomic
def room_kick(*, room_id: int, user: User, by: User | None) -> RoomMute:
    """Remove ``user``'s connections from the room (``left``, reason ``kicked``) and mute
    them there for 10 minutes."""
    mute = room_mute(
        room_id=room_id, user=user, seconds=int(KICK_MUTE.total_seconds()), by=by, reason="kick"
    )
    text = encode({"type": "left", "room": room_id, "reason": "kicked"})
    publish_on_commit(user_group(user.id), "forget", room=room_id, text=text, joined_only=True)
    return mute


@transaction.atomic
def room_slow_mode_set(*, room_id: int, seconds: object) -> bool:
    """Set the room's slow mode (0: off); False if it was so already."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise BadRequest(gettext("seconds must be an integer."))
    if not 0 <= seconds <= SLOW_MODE_MAX:
        raise BadRequest(
            gettext("Slow mode is 0 (off) to %(slow_mode_max)s seconds.")
            % {"slow_mode_max": SLOW_MODE_MAX}
        )
    room = ChatRoom.objects.select_for_update().filter(pk=room_id).first()
    if room is None:
        raise NotFound(gettext("No such room."))
    if room.slow_mode == seconds:
        return False
    room.slow_mode = seconds
    room.save(update_fields=["slow_mode"])
    return True


# --- content rules ------------------------------------------------------------------------


def rules_changed() -> None:
    """After a rule is saved or deleted: every process drops its compiled rules (this one at
    once, the others when the channel layer tells their hub)."""
    rules.invalidate()
    publish_on_commit(rules.RULES_GROUP, "rules")
    transaction.on_commit(rules.invalidate)


@transaction.atomic
def content_rule_save(*, rule: ContentRule) -> ContentRule:
    rule.full_clean()
    rule.pattern = rule.pattern.strip()
    rule.save()
    rules_changed()
    return rule


@transaction.atomic
def content_rule_delete(*, rule: ContentRule) -> None:
    rule.delete()
    rules_changed()


# --- guests and bans ----------------------------------------------------------------------


def guest_origin_record(*, user: User, address: str) -> GuestOrigin:
    return GuestOrigin.objects.create(user=user, address=address[:45])


@transaction.atomic
def user_ban_holding(*, user: User, by: User | None) -> User:
    """Ban ``user`` (``accounts.services.user_ban``: tokens revoked, sockets closed with
    4403); a guest's minting address also gets no new guests for ``BAN_ADDRESS_HOURS``."""
    user_ban(user=user)
    if user.is_guest:
        origin = GuestOrigin.objects.filter(user=user).first()
        hours = settings.CHAT["BAN_ADDRESS_HOURS"]
        if origin is not None and hours > 0:
            AddressBan.objects.create(
                address=origin.address,
                until=timezone.now() + timedelta(hours=hours),
                user=user,
                by=by,
            )
    return user


# --- reports ------------------------------------------------------------------------------


def report_record(
    *,
    reporter: User,
    reason: str,
    note: str,
    target: User,
    message_id: int | None,
    room_id: int | None,
) -> tuple[Report, bool]:
    """An open report by ``reporter`` of the message (or the user); the open one if the same
    reporter already reported the same target, and whether it is new."""
    if reason not in dict(Report.REASONS):
        raise BadRequest("reason must be one of: " + ", ".join(dict(Report.REASONS)) + ".")
    if len(note) > 500:
        raise BadRequest(gettext("A note has at most 500 characters."))
    same = Report.objects.filter(reporter=reporter, status=Report.OPEN)
    same = (
        same.filter(message_id=message_id)
        if message_id
        else same.filter(message__isnull=True, target=target, room_id=room_id)
    )
    if existing := same.first():
        return existing, False
    report = Report.objects.create(
        reporter=reporter,
        reason=reason,
        note=note,
        target=target,
        message_id=message_id,
        room_id=room_id,
    )
    return report, True


def reporters_count(*, message_id: int, older_than: float | None = None) -> int:
    """Distinct reporters of the message with an open report (whose identities are older
    than ``older_than`` seconds, if given)."""
    reports = Report.objects.filter(message_id=message_id, status=Report.OPEN)
    if older_than is not None:
        reports = reports.filter(
            reporter__date_joined__lte=timezone.now() - timedelta(seconds=older_than)
        )
    return reports.values("reporter_id").distinct().count()


@transaction.atomic
def reports_resolve(*, report: Report, action: str, by: User, message_wide: bool = True) -> int:
    """Record what staff did (who, when) on the report and, for a message, every other
    open report of it; the number resolved."""
    if action not in dict(Report.ACTIONS):
        raise BadRequest(gettext("Unknown action."))
    reports = Report.objects.filter(pk=report.pk)
    if message_wide and report.message_id:
        reports = Report.objects.filter(message_id=report.message_id, status=Report.OPEN) | reports
    return reports.update(
        status=Report.RESOLVED, action=action, resolved_by=by, resolved_at=timezone.now()
    )
