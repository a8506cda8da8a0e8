"""Writes for notifications: settings, subscriptions, and the delivery of pushes and
digests (called by ``notifications.tasks``, never in a request or the consumer).

Idempotency: each send is preceded by its record (``PushDelivery`` pending, ``Digest``
unsent) committed in the transaction that decided it; the send comes after, and its
success is recorded after that. A worker killed anywhere re-runs the task (``chat_worker``
puts its interrupted tasks back), which finds the records and sends only what is pending.
The one window left is between the push service's (or SMTP server's) answer and our
commit of "sent": a few milliseconds in which a kill means one duplicate. Pushes carry a
``Topic`` (the room) so the push service replaces, rather than adds, an undelivered duplicate
or an older push of the same room.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from accounts.models import User
from chatsite.foundation.errors import BadRequest
from messaging.models import ChatMessage
from notifications import emails, push, rules
from notifications.models import (
    Digest,
    Notice,
    NotificationSettings,
    PushDelivery,
    PushSubscription,
    RoomDue,
)
from notifications.selectors import user_language, user_language_changed
from rooms.models import ChatRoom

log = logging.getLogger(__name__)

PREVIEW_MAX = 120
VERIFY_SALT = "notifications.email-verify"
UNSUBSCRIBE_SALT = "notifications.email-unsubscribe"
VERIFY_MAX_AGE = 24 * 3600
UNSUBSCRIBE_MAX_AGE = 180 * 24 * 3600
EMAIL_MAX = 254


# --- settings --------------------------------------------------------------------------------


def settings_get(*, user: User) -> NotificationSettings:
    prefs, _ = NotificationSettings.objects.get_or_create(user=user)
    return prefs


_UNSET: Any = object()


def settings_update(
    *,
    user: User,
    email: object = _UNSET,
    notify_email: object = _UNSET,
    notify_push: object = _UNSET,
    language: object = _UNSET,
) -> NotificationSettings:
    """Change what was given; all checked before anything is written. A new ``email``
    (claimed users only) is unverified until its link is followed."""
    changes: dict[str, object] = {}
    if notify_email is not _UNSET:
        if notify_email not in (NotificationSettings.OFF, NotificationSettings.DIGEST):
            raise BadRequest(gettext('notify_email must be "off" or "digest".'))
        changes["notify_email"] = notify_email
    if notify_push is not _UNSET:
        if not isinstance(notify_push, bool):
            raise BadRequest(gettext("notify_push must be true or false."))
        changes["notify_push"] = notify_push
    if language is not _UNSET:
        if language is not None and language not in dict(NotificationSettings.LANGUAGES):
            raise BadRequest(gettext('language must be "en", "ko" or null.'))
        changes["language"] = language or ""
    new_email: str | None = None
    if email is not _UNSET:
        new_email = _clean_email(email, user=user)
    with transaction.atomic():
        prefs, _ = NotificationSettings.objects.select_for_update().get_or_create(user=user)
        for field, value in changes.items():
            setattr(prefs, field, value)
        if new_email is not None and new_email != prefs.email:
            prefs.email, prefs.email_verified_at = new_email, None
            if new_email:
                from notifications.tasks import send_verification

                send_verification.enqueue(user.pk, new_email)
        prefs.save()
    if "language" in changes:
        user_language_changed(user_id=user.pk)
    return prefs


def _clean_email(value: object, *, user: User) -> str:
    if user.is_guest:
        raise BadRequest(gettext("Only a claimed account can have an e-mail address."))
    if not isinstance(value, str) or len(value) > EMAIL_MAX:
        raise BadRequest(
            gettext("email must be a string of at most %(email_max)s characters.")
            % {"email_max": EMAIL_MAX}
        )
    value = value.strip()
    if not value:
        return ""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(value)
    except ValidationError as exc:
        raise BadRequest(gettext("email is not an e-mail address.")) from exc
    return value


def email_token(*, user_id: int, email: str, salt: str) -> str:
    return signing.dumps({"u": user_id, "e": email}, salt=salt, compress=True)


class LinkInvalid(Exception):
    """A verification or unsubscribe link that is forged, expired or no longer applies."""


def _token_target(token: str, *, salt: str, max_age: int) -> tuple[int, str]:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkInvalid(gettext("This link has expired.")) from exc
    except signing.BadSignature as exc:
        raise LinkInvalid(gettext("This link is not valid.")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise LinkInvalid(gettext("This link is not valid."))
    return data["u"], str(data.get("e", ""))


def email_verify(*, token: str) -> str:
    """Mark the address in ``token`` verified if it is still the user's address."""
    user_id, email = _token_target(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    with transaction.atomic():
        prefs = NotificationSettings.objects.select_for_update().filter(user_id=user_id).first()
        if prefs is None or not email or prefs.email != email:
            raise LinkInvalid(
                gettext("This link is for an address that is no longer on the account.")
            )
        if prefs.email_verified_at is None:
            prefs.email_verified_at = timezone.now()
            prefs.save(update_fields=["email_verified_at"])
    return email


def email_unsubscribe_check(*, token: str) -> str:
    """The address a valid unsubscribe link is for (nothing changed)."""
    user_id, email = _token_target(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    if not NotificationSettings.objects.filter(user_id=user_id, email=email).exists():
        raise LinkInvalid(gettext("This link is for an address that is no longer on the account."))
    return email


def email_unsubscribe(*, token: str) -> str:
    """Turn digests off for the account the link was sent for (RFC 8058: no sign-in)."""
    user_id, email = _token_target(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    updated = NotificationSettings.objects.filter(user_id=user_id, email=email).update(
        notify_email=NotificationSettings.OFF
    )
    if not updated:
        raise LinkInvalid(gettext("This link is for an address that is no longer on the account."))
    return email


def verification_send(*, user_id: int, email: str) -> bool:
    """Mail the verification link, unless the address changed or was verified meanwhile."""
    prefs = NotificationSettings.objects.filter(user_id=user_id).first()
    if prefs is None or prefs.email != email or prefs.email_verified_at is not None:
        return False
    token = email_token(user_id=user_id, email=email, salt=VERIFY_SALT)
    emails.send_verification(
        email=email, url=f"{_site()}/email/verify/{token}/", language=prefs.language
    )
    return True


# --- push subscriptions ----------------------------------------------------------------------


def push_subscribe(*, user: User, endpoint: object, keys: object) -> PushSubscription:
    """Store this browser's subscription for ``user`` (a browser that signs in as someone
    else moves its subscription to them)."""
    endpoint, p256dh, auth = push.clean_subscription(endpoint=endpoint, keys=keys)
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth}
    )
    return subscription


def push_unsubscribe(*, user: User, endpoint: object) -> None:
    if not isinstance(endpoint, str) or not endpoint:
        raise BadRequest(gettext("endpoint must be a URL."))
    PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()


# --- the send path's hook --------------------------------------------------------------------


def message_stored(message: ChatMessage, room_kind: str, mentioned_user_ids: Sequence[int]) -> None:
    """In the send's transaction: a direct message or a mention makes its room due to be
    looked at ``CHAT_PUSH_DELAY`` later. One statement per message — the upsert of the
    room's ``RoomDue`` row, which also holds that row until the send commits — and, when it
    starts a burst (the row is new), the task's row: committed with the message or not at
    all. Messages that follow before the task runs ride on it."""
    if room_kind != ChatRoom.DIRECT and not mentioned_user_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RoomDue._meta.db_table} (room_id, first_seq, last_seq) "
            "VALUES (%s, %s, %s) ON CONFLICT (room_id) DO UPDATE SET last_seq = excluded.last_seq "
            "RETURNING first_seq",
            [message.room_id, message.seq, message.seq],
        )
        (first_seq,) = cursor.fetchone()
    if first_seq == message.seq:  # the row is new: a burst starts
        _room_enqueue(room_id=message.room_id)


def _room_enqueue(*, room_id: int) -> None:
    from notifications.tasks import deliver_room

    run_after = timezone.now() + timedelta(seconds=settings.CHAT["PUSH_DELAY"])
    deliver_room.using(run_after=run_after).enqueue(room_id)


# --- deliveries (run by tasks) ---------------------------------------------------------------


def room_deliver(*, room_id: int) -> int:
    """Decide who is told of a room's due messages and tell them; the number of pushes sent.

    Re-running it (a worker killed mid-way) creates nothing twice and sends only what is
    still pending."""
    due = RoomDue.objects.filter(room_id=room_id).first()
    if due is not None:
        _room_decide(due)
    return _room_push_pending(room_id=room_id)


def _room_decide(due: RoomDue) -> None:
    """Record what the room's due messages owe — every ``Notice``, and one push per
    (recipient, browser) for the newest message owed to them — then retire the messages
    looked at. The reads run before the transaction, which takes the ``RoomDue`` row only
    to commit: a send in this room waits for that commit at most, never for the reads."""
    room = ChatRoom.objects.select_related("listing").filter(pk=due.room_id).first()
    messages = list(
        ChatMessage.objects.filter(room_id=due.room_id, seq__gte=due.first_seq).order_by("seq")
        if room is not None
        else ()
    )
    # Only committed messages are visible, and a room's messages commit in seq order (its
    # seq is taken under the room's row lock): what was read is everything up to ``upto``.
    upto = messages[-1].seq if messages else due.first_seq - 1
    owed = rules.recipients_of(room=room, messages=messages) if room is not None else {}
    users = set().union(*owed.values()) if owed else set()
    prefs = {p.user_id: p for p in NotificationSettings.objects.filter(user_id__in=users)}
    pushable = rules.absent_from_room(room_id=due.room_id, user_ids=users)
    pushable = {u for u in pushable if u not in prefs or prefs[u].notify_push}
    subscriptions = list(PushSubscription.objects.filter(user_id__in=pushable))
    mailable = {u for u in users if _digest_wanted(prefs.get(u))}
    keep = {s.user_id for s in subscriptions} | mailable
    newest: dict[int, ChatMessage] = {}  # per user, the newest message owed to them
    first: dict[int, ChatMessage] = {}
    for message in messages:
        for user_id in owed[message.pk]:
            first.setdefault(user_id, message)
            newest[user_id] = message
    with transaction.atomic():
        Notice.objects.bulk_create(
            [
                Notice(user_id=u, message_id=m.pk, room_id=due.room_id)
                for m in messages
                for u in owed[m.pk]
                if u in keep
            ],
            ignore_conflicts=True,
        )
        if subscriptions:
            pairs = {(u, newest[u].pk) for u in {s.user_id for s in subscriptions}}
            notices = {
                (n.user_id, n.message_id): n.pk
                for n in Notice.objects.filter(
                    message_id__in={m for _, m in pairs}, user_id__in={u for u, _ in pairs}
                ).only("pk", "user_id", "message_id")
            }
            PushDelivery.objects.bulk_create(
                [
                    PushDelivery(notice_id=notices[s.user_id, newest[s.user_id].pk], subscription=s)
                    for s in subscriptions
                ],
                ignore_conflicts=True,
            )
        for user_id in mailable:
            digest_schedule(user_id=user_id, after=first[user_id].created_at)
        # Retire what was looked at. A send that upserted the row and has not committed yet
        # holds it: this waits for that commit and then sees its ``last_seq`` past ``upto``,
        # so the row stays, starting after ``upto``, with a task of its own.
        if not RoomDue.objects.filter(room_id=due.room_id, last_seq__lte=upto).delete()[0]:
            RoomDue.objects.filter(room_id=due.room_id).update(first_seq=upto + 1)
            _room_enqueue(room_id=due.room_id)


def _room_push_pending(*, room_id: int) -> int:
    """Send the room's pushes decided and never tried (the retries have their own task)."""
    pending = (
        PushDelivery.objects.filter(notice__room_id=room_id, state=PushDelivery.PENDING, attempts=0)
        .select_related("subscription", "notice")
        .order_by("pk")
    )
    payloads: dict[tuple[int, str], str] = {}  # per (message, language)
    sent = 0
    for delivery in pending:
        language = user_language(user_id=delivery.notice.user_id)
        key = (delivery.notice.message_id, language)
        if key not in payloads:
            message = ChatMessage.objects.select_related("room__listing", "author").get(
                pk=delivery.notice.message_id
            )
            payloads[key] = push_payload(message, language=language)
        sent += push_attempt(delivery=delivery, payload=payloads[key])
    return sent


def _digest_wanted(prefs: NotificationSettings | None) -> bool:
    return (
        prefs is not None
        and prefs.notify_email == NotificationSettings.DIGEST
        and prefs.email_verified
    )


def push_payload(message: ChatMessage, *, language: str = "") -> str:
    """The push for ``message`` in the recipient's settings ``language`` (English if none):
    the only words of ours in it are for a message with photos and no text; ``lang`` tells
    the service worker which language the notification is in."""
    room = message.room
    where = room.listing.title if room.listing is not None else room.name
    body = (
        message.body if len(message.body) <= PREVIEW_MAX else message.body[: PREVIEW_MAX - 1] + "…"
    )
    with translation.override(language or settings.LANGUAGE_CODE):
        if not body and message.media:
            count = len(message.media)
            body = ngettext("Sent a photo", "Sent %(count)s photos", count) % {"count": count}
        lang = translation.get_language()
    return orjson.dumps(
        {
            "type": "message",
            "room": room.pk,
            "url": f"{_site()}/rooms/{room.pk}/?message={message.pk}",
            "title": f"{message.author.display_name} · {where}"
            if where
            else message.author.display_name,
            "body": body,
            "lang": lang,
        }
    ).decode()


def push_attempt(*, delivery: PushDelivery, payload: str) -> int:
    """Send one pending delivery once; 1 if it went out. A dead subscription is deleted; a
    failure is retried with backoff (``CHAT_PUSH_RETRIES`` attempts in all)."""
    sub = delivery.subscription
    outcome = push.send(
        endpoint=sub.endpoint,
        p256dh=sub.p256dh,
        auth=sub.auth,
        payload=payload,
        topic=f"r{delivery.notice.room_id}",  # the newest push of a room replaces older ones
    )
    if outcome is push.Outcome.SENT:
        PushDelivery.objects.filter(pk=delivery.pk).update(
            state=PushDelivery.SENT, attempts=delivery.attempts + 1, updated_at=timezone.now()
        )
        return 1
    if outcome is push.Outcome.GONE:
        PushSubscription.objects.filter(pk=sub.pk).delete()
        return 0
    attempts = delivery.attempts + 1
    with transaction.atomic():
        if attempts >= settings.CHAT["PUSH_RETRIES"]:
            PushDelivery.objects.filter(pk=delivery.pk).update(
                state=PushDelivery.FAILED, attempts=attempts, updated_at=timezone.now()
            )
            return 0
        PushDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempts, updated_at=timezone.now()
        )
        from notifications.tasks import push_retry

        push_retry.using(run_after=timezone.now() + push_backoff(attempts)).enqueue(delivery.pk)
    return 0


def push_backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s, … capped at 10 minutes."""
    return timedelta(seconds=min(5 * 2 ** (attempts - 1), 600))


def push_retry_run(*, delivery_id: int) -> int:
    delivery = (
        PushDelivery.objects.select_related("subscription", "notice")
        .filter(pk=delivery_id, state=PushDelivery.PENDING)
        .first()
    )
    if delivery is None:
        return 0
    # Read since the first attempt: the user does not need it any more.
    message = ChatMessage.objects.select_related("room__listing", "author").get(
        pk=delivery.notice.message_id
    )
    if delivery.notice.user_id not in rules.recipients(message=message):
        PushDelivery.objects.filter(pk=delivery.pk).update(state=PushDelivery.FAILED)
        return 0
    language = user_language(user_id=delivery.notice.user_id)
    return push_attempt(delivery=delivery, payload=push_payload(message, language=language))


# --- digests ---------------------------------------------------------------------------------


def digest_schedule(*, user_id: int, after: datetime) -> None:
    """Make sure a digest task will look at this user's notices ``CHAT_EMAIL_DELAY`` after
    ``after`` — one task per user at a time (``digest_due_at``), not one per message."""
    due = max(after + timedelta(seconds=settings.CHAT["EMAIL_DELAY"]), timezone.now())
    if NotificationSettings.objects.filter(user_id=user_id, digest_due_at__isnull=True).update(
        digest_due_at=due
    ):
        _digest_enqueue(user_id=user_id, due=due)


def _digest_enqueue(*, user_id: int, due: datetime) -> None:
    from notifications.tasks import send_digest

    send_digest.using(run_after=due).enqueue(user_id)


def digest_run(*, user_id: int) -> int:
    """Send what is owed: first a digest decided before a crash and never sent, then a new
    one if the interval allows. The number of e-mails sent."""
    sent = 0
    for digest in Digest.objects.filter(user_id=user_id, sent_at__isnull=True):
        sent += _digest_send(digest)
    decided = _digest_decide(user_id=user_id)
    if decided is not None:
        sent += _digest_send(decided)
    return sent


def _digest_decide(*, user_id: int) -> Digest | None:
    """Pick the notices a digest lists now (committed before it is sent), and schedule the
    next look if some are still too young or the interval has not passed."""
    now = timezone.now()
    delay = timedelta(seconds=settings.CHAT["EMAIL_DELAY"])
    interval = timedelta(seconds=settings.CHAT["EMAIL_INTERVAL"])
    with transaction.atomic():
        prefs = (
            NotificationSettings.objects.select_for_update()
            .select_related("user")
            .filter(user_id=user_id)
            .first()
        )
        if prefs is None:
            return None
        prefs.digest_due_at = None
        digest = None
        if not prefs.user.is_guest and _digest_wanted(prefs):
            pending = list(
                Notice.objects.filter(user_id=user_id, digest__isnull=True)
                .select_related("message", "room")
                .order_by("message__created_at")
            )
            ripe = [n for n in pending if n.message.created_at <= now - delay]
            young = [n for n in pending if n.message.created_at > now - delay]
            listable = _still_owed(user_id=user_id, notices=ripe)
            # Read, muted, deleted or blocked since: never listed.
            gone = [n.pk for n in ripe if n not in listable]
            Notice.objects.filter(pk__in=gone).exclude(
                deliveries__state=PushDelivery.PENDING
            ).delete()
            next_due = young[0].message.created_at + delay if young else None
            if listable and prefs.last_digest_at and now < prefs.last_digest_at + interval:
                next_due = prefs.last_digest_at + interval  # at most one per interval
            elif listable:
                digest = Digest.objects.create(user_id=user_id, email=prefs.email)
                Notice.objects.filter(pk__in=[n.pk for n in listable]).update(digest=digest)
                prefs.last_digest_at = now
                if next_due is not None:
                    next_due = max(next_due, now + interval)
            if next_due is not None:
                prefs.digest_due_at = next_due
                _digest_enqueue(user_id=user_id, due=next_due)
        prefs.save(update_fields=["digest_due_at", "last_digest_at"])
    return digest


def _still_owed(*, user_id: int, notices: list[Notice]) -> list[Notice]:
    from rooms.models import Membership

    rooms = {n.room_id for n in notices}
    places = {m.room_id: m for m in Membership.objects.filter(user_id=user_id, room_id__in=rooms)}
    authors = {n.message.author_id for n in notices}
    blocked = set()
    for author_id in authors:
        if rules.blocked_pairs(user_ids=[user_id], author_id=author_id):
            blocked.add(author_id)
    kept = []
    for notice in notices:
        place = places.get(notice.room_id)
        if notice.message.deleted_at is not None or notice.message.author_id in blocked:
            continue
        if place is not None and (place.muted or place.last_read_seq >= notice.message.seq):
            continue
        kept.append(notice)
    return kept


def _digest_send(digest: Digest) -> int:
    notices = list(
        Notice.objects.filter(digest=digest)
        .select_related("message__author", "room__listing")
        .order_by("room_id", "message__seq")
    )
    token = email_token(user_id=digest.user_id, email=digest.email, salt=UNSUBSCRIBE_SALT)
    emails.send_digest(
        email=digest.email,
        language=user_language(user_id=digest.user_id),
        rooms=_digest_rooms(notices),
        unsubscribe_url=f"{_site()}/email/unsubscribe/{token}/",
        settings_url=f"{_site()}/settings/",
    )
    Digest.objects.filter(pk=digest.pk).update(sent_at=timezone.now())
    return 1


def _digest_rooms(notices: list[Notice]) -> list[dict[str, Any]]:
    rooms: dict[int, dict[str, Any]] = {}
    for notice in notices:
        message, room = notice.message, notice.room
        entry = rooms.setdefault(
            room.pk,
            {
                "name": room.name,
                "listing": room.listing.title if room.listing is not None else None,
                "senders": [],
                "count": 0,
                "lines": [],
                "url": f"{_site()}/rooms/{room.pk}/?message={message.pk}",
            },
        )
        entry["count"] += 1
        sender = message.author.display_name
        if sender not in entry["senders"]:
            entry["senders"].append(sender)
        if len(entry["lines"]) < 3:
            entry["lines"].append({"sender": sender, "body": message.body[:200]})
    return list(rooms.values())


def _site() -> str:
    return settings.CHAT["SITE_URL"]
