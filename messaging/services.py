"""Writes for messages. Each takes the room's next number in the same transaction as the
write and publishes after commit, so HTTP, admin and WebSocket behave the same.

Every frame a room (or a user's sockets) receives is built here or in ``messaging.hub``
(presence), never in an interface. The ``a``-prefixed functions at the end are the
WebSocket's entry points: the limits of ``messaging.limits``, then the write, with its
broadcast handed back for the caller to publish after it replied. A WebSocket send is stored
by group commit: the sends waiting for the database thread go together
(``message_send_batch``: one transaction for the group, each send checked and answered as
``message_send`` would, a failed group stored again one send at a time).
"""

import asyncio
import functools
import logging
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from accounts.serializers import user_data
from chatsite.foundation import metrics
from chatsite.foundation.errors import (
    BadRequest,
    ChatError,
    Empty,
    Forbidden,
    NotFound,
    TooLong,
)
from chatsite.foundation.publish import (
    Event,
    apublish,
    apublish_all,
    collecting,
    collecting_into,
    publish_on_commit,
    room_group,
    user_group,
)
from chatsite.foundation.text import is_blank, text_check
from chatsite.foundation.wire import encode
from messaging.attachments import attachment_ids_clean, attachments_claim, attachments_drop
from messaging.ephemeral import STORE_ERRORS
from messaging.limits import read_rate_check, send_rate_check, typing_allowed, write_rate_check
from messaging.mentions import mentions_record, mentions_resolve
from messaging.models import ChatMessage
from messaging.replies import RELATED, reply_parent_get
from messaging.serializers import (
    message_data,
    message_frame,
    room_data_for,
    room_data_shared,
)
from messaging.threads import in_db_thread
from moderation.selectors import blocked_between
from moderation.services import Blocked, SendState, check_send, check_text, send_states
from rooms.models import ChatRoom, Listing, Membership
from rooms.services import (
    direct_room_get_or_create,
    membership_mark_read,
    room_next_seq,
    room_next_seqs,
    room_not_writable,
)

log = logging.getLogger(__name__)

CLIENT_ID_MAX = 64

# Called with each message stored now, its room's kind and the ids of the users it mentions,
# inside the send's transaction: the ``notifications`` app registers itself here (messaging does not
# import it) and enqueues its delayed push in the same transaction, so a notification is
# committed with its message or not at all.
MessageStoredHook = Callable[[ChatMessage, str, Sequence[int]], None]
message_stored_hooks: list[MessageStoredHook] = []


def clean_body(body: object) -> str:
    """1 to BODY_MAX characters once trimmed, with something visible and no control
    character but tab and newline; stored as typed otherwise."""
    if not isinstance(body, str):
        raise BadRequest(gettext("body must be a string."))
    body = text_check(body, field="body").strip()
    if is_blank(body):
        raise Empty()
    limit = settings.CHAT["BODY_MAX"]
    if len(body) > limit:
        raise TooLong(gettext("A message has at most %(limit)s characters.") % {"limit": limit})
    return body


def clean_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX:
        raise BadRequest(
            gettext("client_id must be a string of 1 to %(client_id_max)s characters.")
            % {"client_id_max": CLIENT_ID_MAX}
        )
    return text_check(client_id, field="client_id")


def message_send(
    *,
    room_id: int,
    author: User,
    body: str,
    client_id: str,
    reply_to: object = None,
    attachments: object = None,
) -> tuple[ChatMessage, bool]:
    """Store a message once per (room, author, client_id); ``True`` if it was stored now.

    A retry with a ``client_id`` already stored in this room returns that message and
    publishes nothing. Idempotency is per room: the same ``client_id`` sent to another room is
    another message there (never the first room's message acknowledged as if it were new).
    """
    request = SendRequest(room_id, author, body, client_id, reply_to, attachments)
    checked = _send_check(request)
    if isinstance(checked, ChatMessage):
        return checked, False
    return _send_store(checked)


class SendRequest(NamedTuple):
    """One send, as ``message_send`` takes it (``message_send_batch`` takes several)."""

    room_id: int
    author: User
    body: str
    client_id: str
    reply_to: object = None
    attachments: object = None


class _Checked(NamedTuple):
    """A send that passed its checks, ready to store."""

    room_id: int
    author: User
    body: str  # as it is stored (content rules applied)
    client_id: str
    parent: ChatMessage | None
    media_ids: list[int]


def _send_check(request: SendRequest, state: SendState | None = None) -> _Checked | ChatMessage:
    """Everything a send is checked for before its transaction: the frame's fields, then
    ``check_send`` (muted, blocked, slow mode, content rules; ``state``: its read, made for a
    group of sends) and the reply's parent. The message stored before when this is a retry
    that the checks would refuse."""
    room_id, author = request.room_id, request.author
    client_id = clean_client_id(request.client_id)
    media_ids = attachment_ids_clean(request.attachments)  # (v1.1) images: the body may be empty
    body = request.body
    body = "" if media_ids and not body.strip() else clean_body(body)
    try:  # muted, blocked, slow mode, content rules: may it go through, and as what text
        body = check_send(room_id=room_id, author=author, body=body, state=state)
    except ChatError:
        # A retry of a send stored before is answered with it (its ack was lost), never
        # refused: slow mode would refuse every retry.
        if existing := _message_by_client_id(room_id=room_id, author=author, client_id=client_id):
            return existing
        raise
    parent = reply_parent_get(room_id=room_id, message_id=request.reply_to)  # (v1.1) NotFound
    return _Checked(room_id, author, body, client_id, parent, media_ids)


def _send_store(checked: _Checked) -> tuple[ChatMessage, bool]:
    """Store one checked send in a transaction of its own."""
    # Insert first: a retry is rare, so it pays the extra read, not every first send.
    try:
        with transaction.atomic():
            seq, kind = room_next_seq(room_id=checked.room_id)
            message = _message_new(checked, seq=seq, kind=kind)
            message.save(force_insert=True)
            _send_stored(message, kind=kind, media_ids=checked.media_ids)
    except IntegrityError:
        # Stored already (a retry, or a concurrent one that won); the rollback gave back the
        # number we took.
        if existing := _message_by_client_id(
            room_id=checked.room_id, author=checked.author, client_id=checked.client_id
        ):
            return existing, False
        raise
    return message, True


def _message_new(checked: _Checked, *, seq: int, kind: str) -> ChatMessage:
    room_id, body = checked.room_id, checked.body
    return ChatMessage(
        room_id=room_id, author=checked.author, body=body, client_id=checked.client_id, seq=seq,
        rev=seq, reply_to=checked.parent,
        mentions=mentions_resolve(room_id=room_id, kind=kind, body=body),
    )  # fmt: skip


def _send_stored(message: ChatMessage, *, kind: str, media_ids: list[int]) -> None:
    """What follows a new message's row, in its transaction: its attachments, its broadcast,
    its mentions and the stored-message hooks."""
    if media_ids:
        attachments_claim(message=message, ids=media_ids)
    _publish_message(message, notify=kind == ChatRoom.DIRECT)
    # (v1.1) a direct room's members are told above, whoever is mentioned
    mentions_record(message, notify=kind == ChatRoom.PUBLIC)
    # (v1.1) pushes and e-mail (notifications), mentions one more input
    for hook in message_stored_hooks:
        hook(message, kind, message.mentions)


# What one send of a group came to: (message, stored now) as ``message_send`` returns, or the
# error it raised; with the events its commit published (for ``abroadcast``).
SendOutcome = tuple[tuple[ChatMessage, bool] | Exception, list[Event]]

SEND_BATCH_MAX = 100  # sends stored in one transaction at most


def message_send_batch(
    sends: Sequence[SendRequest], *, languages: Sequence[str | None] = ()
) -> list[SendOutcome]:
    """``message_send`` for several sends at once (group commit): each checked as
    ``message_send`` checks it, then all those that passed stored in ONE transaction, so a
    group costs one commit, one seq update for all its rooms and one INSERT of all its
    messages, not one of each per send. The outcome of each, in order, with the events its
    commit published.

    Each send is what it would be alone: checked by the same rules, numbered in its room in
    the order given, its row, attachments, mentions, broadcast and hooks written in the
    group's transaction, idempotent per (room, author, client_id). If that transaction fails
    (a retry whose row exists, an attachment not claimable, a bug) nothing of it stays and
    each send is stored again in a transaction of its own, so one bad send fails alone.
    A send naming the same (room, author, client_id) as an earlier one of the group is
    handled alone after the group (answered with the message the first stored).
    ``languages``: each send's language for its error details (the sender's).
    """
    outcomes: list[SendOutcome | None] = [None] * len(sends)
    language = list(languages) + [None] * (len(sends) - len(languages))
    first: dict[tuple[int, int, str], int] = {}
    group: list[int] = []
    later: list[int] = []
    for i, request in enumerate(sends):
        if not isinstance(request.client_id, str):  # refused by its check below
            group.append(i)
            continue
        key = (request.room_id, request.author.id, request.client_id)
        if key in first:
            later.append(i)
        else:
            first[key] = i
            group.append(i)
    states = send_states(sends=[(sends[i].room_id, sends[i].author.id) for i in group])
    checked: list[tuple[int, _Checked]] = []
    for i, state in zip(group, states, strict=True):
        with _language(language[i]):
            try:
                result = _send_check(sends[i], state)
            except Exception as exc:  # this send's own error, for its sender
                outcomes[i] = (exc, [])
                continue
        if isinstance(result, ChatMessage):
            outcomes[i] = ((result, False), [])
        else:
            checked.append((i, result))
    if checked:
        try:
            stored = _send_store_group(checked, language)
        except Exception as exc:  # nothing of the group stayed: each alone
            log.info("send group of %s failed, storing one at a time: %r", len(checked), exc)
            stored = [(i, _send_store_alone(c, language[i])) for i, c in checked]
        for i, outcome in stored:
            outcomes[i] = outcome
    for i in later:
        with _language(language[i]):
            outcomes[i] = _outcome(functools.partial(_send_again, sends[i]))
    return [outcome for outcome in outcomes if outcome is not None]


def _send_store_group(
    checked: list[tuple[int, _Checked]], language: list[str | None]
) -> list[tuple[int, SendOutcome]]:
    """Store ``checked`` in one transaction (raises, and nothing stays, if any write fails)."""
    counts: dict[int, int] = {}
    for _, c in checked:
        counts[c.room_id] = counts.get(c.room_id, 0) + 1
    done: list[tuple[int, SendOutcome]] = []
    with transaction.atomic():
        taken = room_next_seqs(counts=counts)
        next_seq = {room_id: t.seq - counts[room_id] + 1 for room_id, t in taken.items()}
        new: list[tuple[int, _Checked, ChatMessage, str]] = []
        for i, c in checked:
            if c.room_id not in taken:  # closed or gone since its check
                with _language(language[i]):
                    done.append((i, (room_not_writable(room_id=c.room_id), [])))
                continue
            kind = taken[c.room_id].kind
            seq, next_seq[c.room_id] = next_seq[c.room_id], next_seq[c.room_id] + 1
            new.append((i, c, _message_new(c, seq=seq, kind=kind), kind))
        ChatMessage.objects.bulk_create([message for _, _, message, _ in new])
        for i, c, message, kind in new:
            events: list[Event] = []
            with _language(language[i]), collecting_into(events):
                _send_stored(message, kind=kind, media_ids=c.media_ids)
            done.append((i, ((message, True), events)))
    return done


def _send_again(request: SendRequest) -> tuple[ChatMessage, bool]:
    return message_send(**request._asdict())


def _send_store_alone(checked: _Checked, language: str | None) -> SendOutcome:
    with _language(language):
        return _outcome(lambda: _send_store(checked))


def _outcome(store: Callable[[], tuple[ChatMessage, bool]]) -> SendOutcome:
    events: list[Event] = []
    try:
        with collecting_into(events):
            return store(), events
    except Exception as exc:  # this send's own error, for its sender
        return exc, []


def _language(language: str | None) -> AbstractContextManager[None]:
    return translation.override(language) if language else nullcontext()


def _message_by_client_id(*, room_id: int, author: User, client_id: str) -> ChatMessage | None:
    # Served by the unique index on (room, author, client_id).
    return (
        ChatMessage.objects.filter(room_id=room_id, author=author, client_id=client_id)
        .select_related(*RELATED)
        .first()
    )


def message_edit(*, message_id: int, by: User, body: str) -> ChatMessage:
    room_id, _ = _message_room_for(message_id, by=by)  # before anything else: no oracle
    body = clean_body(body)
    with transaction.atomic():
        # The room's row lock comes first: the message is read after it, fresh.
        seq, kind = room_next_seq(room_id=room_id)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.author_id != by.id:
            raise Forbidden(gettext("Only the author may edit a message."))
        if message.deleted_at is not None:
            raise NotFound(gettext("That message was deleted."))
        body = check_text(room_kind=kind, author=by, body=body)
        if message.body == body:
            transaction.set_rollback(True)  # nothing changes: give the number back
            return message
        message.body, message.rev, message.edited_at = body, seq, timezone.now()
        message.mentions = mentions_resolve(room_id=room_id, kind=kind, body=body)  # (v1.1)
        message.save(update_fields=["body", "rev", "edited_at", "mentions"])
        mentions_record(message, notify=False, edited=True)
        _publish_message(message)
    return message


def message_delete(*, message_id: int, by: User) -> ChatMessage:
    """The author; staff in a room they can read; anywhere, a user with the permission to
    delete messages (a superuser has it). The body is cleared. Deleting twice changes
    nothing the second time."""
    room_id, readable = _message_room_for(message_id, by=by, moderating=True)
    with transaction.atomic():
        seq, _ = room_next_seq(room_id=room_id, allow_closed=True)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.author_id != by.id and not (
            (by.is_staff and readable) or by.has_perm(DELETE_PERMISSION)
        ):
            raise Forbidden(gettext("Only the author or staff may delete a message."))
        if message.deleted_at is not None:
            transaction.set_rollback(True)
            return message
        message.body, message.rev, message.deleted_at = "", seq, timezone.now()
        attachments_drop(message=message)  # files deleted after commit
        message.save(update_fields=["body", "rev", "deleted_at", "media"])
        _publish_message(message)
    return message


DELETE_PERMISSION = "messaging.delete_chatmessage"


def _message_room_for(
    message_id: object, *, by: User, moderating: bool = False
) -> tuple[int, bool]:
    """The message's room id, and whether ``by`` can read that room. A message in a room
    ``by`` cannot read is "not found" (as if it did not exist: no ``forbidden`` or
    ``room_closed`` that would tell it does), unless ``moderating`` and ``by`` holds the
    permission to delete messages."""
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise BadRequest(gettext("message must be a message id."))
    row = ChatMessage.objects.filter(pk=message_id).values_list("room_id", "room__kind").first()
    if row is None:
        raise NotFound(gettext("No such message."))
    room_id, kind = row
    readable = (
        kind == ChatRoom.PUBLIC or Membership.objects.filter(room_id=room_id, user=by).exists()
    )
    if not readable and not (moderating and by.has_perm(DELETE_PERMISSION)):
        raise NotFound(gettext("No such message."))
    return room_id, readable


def _message_room_id(message_id: object) -> int:
    """The message's room id, for moderation's own writes (hide, restore): no reader to check."""
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise BadRequest(gettext("message must be a message id."))
    room_id = ChatMessage.objects.filter(pk=message_id).values_list("room_id", flat=True).first()
    if room_id is None:
        raise NotFound(gettext("No such message."))
    return room_id


def _publish_message(message: ChatMessage, *, notify: bool = False) -> None:
    text = message_frame(message)
    publish_on_commit(
        room_group(message.room_id), "frame", text=text, room=message.room_id, rev=message.rev
    )
    if notify:
        note = encode({"type": "notify", "room": message.room_id, "message": message_data(message)})
        members = Membership.objects.filter(room_id=message.room_id, muted=False)
        for user_id in members.values_list("user_id", flat=True):
            publish_on_commit(
                user_group(user_id), "frame", text=note, unless_joined=message.room_id
            )


def room_mark_read(*, room: ChatRoom, user: User, seq: object) -> int | None:
    """Move the reader's place forward and tell the room; None if it did not move."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise BadRequest(gettext("seq must be a non-negative integer."))
    with transaction.atomic():
        moved = membership_mark_read(room=room, user=user, seq=seq)
        if moved is not None:
            text = encode({"type": "read", "room": room.id, "user": user_data(user), "seq": moved})
            publish_on_commit(room_group(room.id), "frame", text=text)
    return moved


def direct_room_open(*, listing: Listing, user: User) -> tuple[ChatRoom, bool]:
    """The one direct room for (listing, user); a new one is announced to the owner.

    A user blocked by the owner (or blocking them) cannot start one (``blocked``); a room
    that exists already still opens, showing ``blocked: true``.
    """
    if not _direct_room_exists(listing=listing, user=user) and blocked_between(
        user_id=user.id, other_id=listing.owner_id
    ):
        raise Blocked(gettext("You cannot start a conversation with this person."))
    with transaction.atomic():
        room, created = direct_room_get_or_create(listing=listing, user=user)
    if created:
        frame = encode({"type": "room", "room": room_data_for(room_id=room.id, user=listing.owner)})
        publish_on_commit(user_group(listing.owner_id), "frame", text=frame)
    return room, created


def _direct_room_exists(*, listing: Listing, user: User) -> bool:
    return ChatRoom.objects.filter(kind=ChatRoom.DIRECT, listing=listing, borrower=user).exists()


def message_hide(*, message_id: int) -> ChatMessage | None:
    """Hide a message as deleted, with a new rev, keeping its text for review (community
    reports); None if it was deleted already."""
    room_id = _message_room_id(message_id)
    with transaction.atomic():
        seq, _ = room_next_seq(room_id=room_id, allow_closed=True)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.deleted_at is not None:
            transaction.set_rollback(True)
            return None
        message.rev, message.deleted_at = seq, timezone.now()
        message.save(update_fields=["rev", "deleted_at"])
        _publish_message(message)
    return message


def message_restore(*, message_id: int) -> ChatMessage | None:
    """Show a hidden message again (another rev); None if it is not hidden or its text is
    gone (deleted by its author or staff)."""
    room_id = _message_room_id(message_id)
    with transaction.atomic():
        seq, _ = room_next_seq(room_id=room_id, allow_closed=True)
        message = ChatMessage.objects.select_related(*RELATED).get(pk=message_id)
        if message.deleted_at is None or not message.body:
            transaction.set_rollback(True)
            return None
        message.rev, message.deleted_at = seq, None
        message.save(update_fields=["rev", "deleted_at"])
        _publish_message(message)
    return message


def room_announce(*, room_id: int) -> None:
    """A ``room`` frame after the room changed (slow mode, closed, blocked): to each member
    of a direct room as they see it; to a public room's joined connections as anyone sees it
    (its per-reader fields, ``unread`` and the like, are left at their defaults)."""
    room = ChatRoom.objects.filter(pk=room_id).first()
    if room is None:
        return
    if room.kind == ChatRoom.DIRECT:
        for user in User.objects.filter(memberships__room_id=room_id):
            frame = encode({"type": "room", "room": room_data_for(room_id=room_id, user=user)})
            publish_on_commit(user_group(user.id), "frame", text=frame)
        return
    frame = encode({"type": "room", "room": room_data_shared(room=room)})
    publish_on_commit(room_group(room_id), "frame", text=frame)


# --- the WebSocket's entry points ------------------------------------------------------------
# Each write runs in ``collecting``: the events its commit published come back to the event
# loop, which publishes them itself (a send after its ack: the sender sees the ack first).

_amessage_edit = in_db_thread(collecting(message_edit))
_amessage_delete = in_db_thread(collecting(message_delete))
_aroom_mark_read = in_db_thread(collecting(room_mark_read))


class Sent(NamedTuple):
    message: ChatMessage
    created: bool  # False: a retry, answered with the message stored before
    events: list[Event]  # its broadcast, for ``abroadcast`` once the sender has its ack


async def amessage_send(
    *,
    room_id: int,
    author: User,
    body: str,
    client_id: str,
    reply_to: object = None,
    attachments: object = None,
) -> Sent:
    """``message_send`` within the author's send rate (``RateLimited`` past it), stored with
    the other sends waiting for the database thread (``message_send_batch``); answered once
    its transaction committed."""
    await send_rate_check(user_id=author.id)
    request = SendRequest(room_id, author, body, client_id, reply_to, attachments)
    result, events = await _send_queue().put(request, translation.get_language())
    if isinstance(result, Exception):
        raise result
    message, created = result
    return Sent(message, created, events)


class _SendQueue:
    """Group commit on the database thread: the sends that arrive while a group is being
    stored wait here and go together as the next group (at most ``SEND_BATCH_MAX``), one
    transaction each. A send arriving when nothing is stored goes at once (a group of one,
    or of those that arrived in the same turn of the event loop): no send waits for a timer.
    """

    def __init__(self) -> None:
        self.waiting: list[tuple[SendRequest, str | None, asyncio.Future[SendOutcome]]] = []
        self.storing = False

    async def put(self, request: SendRequest, language: str | None) -> SendOutcome:
        future: asyncio.Future[SendOutcome] = asyncio.get_running_loop().create_future()
        self.waiting.append((request, language, future))
        if not self.storing:
            self.storing = True
            _keep(asyncio.ensure_future(self._drain()))
        return await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                group = self.waiting[:SEND_BATCH_MAX]
                del self.waiting[:SEND_BATCH_MAX]
                metrics.send_group_size.observe(len(group))
                try:
                    outcomes = await _amessage_send_batch(
                        [request for request, _, _ in group],
                        languages=[language for _, language, _ in group],
                    )
                except BaseException as exc:  # the thread failed, or this task was cancelled
                    for _, _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):  # the loop is closing
                        for _, _, future in self.waiting:
                            future.cancel()
                        self.waiting.clear()
                        raise
                    continue
                for (_, _, future), outcome in zip(group, outcomes, strict=True):
                    if not future.done():  # its sender may have gone meanwhile
                        future.set_result(outcome)
        finally:
            self.storing = False


_amessage_send_batch = in_db_thread(message_send_batch)
_send_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SendQueue] = (
    weakref.WeakKeyDictionary()
)
_draining: set[asyncio.Future[None]] = set()


def _send_queue() -> _SendQueue:
    """This event loop's queue (tests run several loops, one after another)."""
    loop = asyncio.get_running_loop()
    queue = _send_queues.get(loop)
    if queue is None:
        queue = _send_queues[loop] = _SendQueue()
    return queue


def _keep(task: asyncio.Future[None]) -> None:
    _draining.add(task)
    task.add_done_callback(_draining.discard)


async def amessage_edit(*, message_id: int, by: User, body: str) -> ChatMessage:
    """``message_edit`` within the author's write budget (shared with sends)."""
    await write_rate_check(user_id=by.id)
    message, events = await _amessage_edit(message_id=message_id, by=by, body=body)
    await abroadcast(events)
    return message


async def amessage_delete(*, message_id: int, by: User) -> ChatMessage:
    """``message_delete`` within the user's write budget (shared with sends)."""
    await write_rate_check(user_id=by.id)
    message, events = await _amessage_delete(message_id=message_id, by=by)
    await abroadcast(events)
    return message


async def aroom_mark_read(*, room: ChatRoom, user: User, seq: int) -> int | None:
    """``room_mark_read`` within the user's read budget."""
    await read_rate_check(user_id=user.id)
    moved, events = await _aroom_mark_read(room=room, user=user, seq=seq)
    await abroadcast(events)
    return moved


async def atyping_announce(*, room_id: int, user: User) -> bool:
    """Tell the room's others that ``user`` is typing, unless they were told within
    ``TYPING_INTERVAL`` (then nothing is sent: False)."""
    if not await typing_allowed(user_id=user.id, room_id=room_id):
        return False
    text = encode({"type": "typing", "room": room_id, "user": user_data(user)})
    await apublish(room_group(room_id), "frame", text=text, skip_user=user.id)
    return True


async def abroadcast(events: list[Event]) -> None:
    """Publish what a committed write produced. The write stands if this fails: receivers
    see a gap in revs at the next message (or rejoin by cursor) and sync."""
    try:
        await apublish_all(events)
    except STORE_ERRORS as exc:
        log.warning("broadcast failed, the write stands: %r", exc)
