"""Writes for listings, rooms and memberships."""

from collections.abc import Mapping
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from chatsite.foundation.codes import Code
from chatsite.foundation.errors import (
    BadRequest,
    ChatError,
    Conflict,
    Forbidden,
    NotFound,
    RoomClosed,
)
from chatsite.foundation.text import name_check, name_key, text_check
from images.storage import files_delete, files_delete_on_commit
from images.uploads import image_ingest, image_pool_check, upload_file, upload_rate_check
from rooms.models import ChatRoom, Listing, ListingPhoto, Membership
from rooms.selectors import room_last_seq


@transaction.atomic
def listing_create(*, owner: User, title: str, description: str = "") -> Listing:
    return Listing.objects.create(
        owner=owner,
        title=text_check(title, field="title").strip(),
        description=text_check(description, field="description").strip(),
    )


@transaction.atomic
def listing_update(
    *,
    listing: Listing,
    by: User,
    title: str | None = None,
    description: str | None = None,
    status: str | None = None,
) -> Listing:
    _listing_check_owner(listing=listing, by=by)
    if title is not None:
        listing.title = text_check(title, field="title").strip()
    if description is not None:
        listing.description = text_check(description, field="description").strip()
    if status is not None:
        if status not in dict(Listing.STATUSES):
            raise BadRequest(gettext("status is 'available' or 'lent'."))
        listing.status = status
    listing.save(update_fields=["title", "description", "status"])
    return listing


@transaction.atomic
def listing_delete(*, listing: Listing, by: User) -> None:
    _listing_check_owner(listing=listing, by=by)
    if listing.photo is not None:
        files_delete_on_commit(listing.photo.files())
        listing.photo.delete()
    listing.delete()


def listing_photo_set(*, listing: Listing, by: User, request: Any) -> Listing:
    """(v1.1) The owner's upload (a DRF request with one ``file``) becomes the photo; the
    previous photo and its files are deleted after the commit."""
    _listing_check_owner(listing=listing, by=by)  # before a byte of the upload is read
    image_pool_check()  # full: 503 before the body is read or the upload counted
    upload_rate_check(user_id=by.id)
    ingested = image_ingest(upload=upload_file(request), prefix=f"listings/{listing.id}")
    try:
        with transaction.atomic():
            locked = (
                Listing.objects.select_for_update(of=("self",))
                .select_related("photo")
                .get(pk=listing.pk)
            )
            old = locked.photo
            locked.photo = ListingPhoto.objects.create(**ingested.fields)
            locked.save(update_fields=["photo"])
            if old is not None:
                files_delete_on_commit(old.files())
                old.delete()
    except BaseException:
        files_delete(ingested.files)  # nothing names them
        raise
    listing.photo = locked.photo
    return listing


def _listing_check_owner(*, listing: Listing, by: User) -> None:
    if listing.owner_id != by.id:
        raise Forbidden(gettext("Only the owner may change this listing."))


def public_room_create(*, name: str, created_by: User) -> ChatRoom:
    """A public room; its name has nothing invisible or direction-changing, and is unique
    as a reader sees it (NFKC, case folded)."""
    name = name_check(" ".join(name.split()), field="A room name")
    longest = ChatRoom._meta.get_field("name").max_length or 0
    if not 1 <= len(name) <= longest:
        raise BadRequest(
            gettext("A room name has 1 to %(longest)s characters.") % {"longest": longest}
        )
    key = name_key(name)
    taken = ChatRoom.objects.filter(kind=ChatRoom.PUBLIC)
    if taken.filter(Q(name__iexact=name) | Q(name_key=key)).exists():
        raise _name_taken()
    try:
        with transaction.atomic():
            return ChatRoom.objects.create(
                kind=ChatRoom.PUBLIC, name=name, name_key=key, created_by=created_by
            )
    except IntegrityError as exc:  # a concurrent create of the same name won
        raise _name_taken() from exc


def _name_taken() -> Conflict:
    error = Conflict(gettext("A room with that name exists."))
    error.code = Code.NAME_TAKEN
    return error


def direct_room_get_or_create(*, listing: Listing, user: User) -> tuple[ChatRoom, bool]:
    """The one direct room for (listing, user), and whether it was made now.

    Concurrent callers race on the (listing, borrower) unique constraint: the loser's insert
    fails and it reads the winner's room, so there is never a second one.
    """
    if listing.owner_id == user.id:
        error = BadRequest(gettext("This is your own listing."))
        error.code = Code.OWN_LISTING
        raise error
    lookup = {"kind": ChatRoom.DIRECT, "listing": listing, "borrower": user}
    if room := ChatRoom.objects.filter(**lookup).first():
        return room, False
    try:
        with transaction.atomic():
            room = ChatRoom.objects.create(**lookup, name=listing.title[:80], created_by=user)
            Membership.objects.bulk_create(
                [
                    Membership(room=room, user_id=listing.owner_id, role=Membership.OWNER),
                    Membership(room=room, user=user, role=Membership.BORROWER),
                ]
            )
    except IntegrityError:
        return ChatRoom.objects.get(**lookup), False
    return room, True


class NextSeq(NamedTuple):
    seq: int
    kind: str


def room_next_seq(*, room_id: int, allow_closed: bool = False) -> NextSeq:
    """Take the room's next change number, in the caller's transaction.

    One ``UPDATE … RETURNING``: the row lock it takes orders concurrent writers, so numbers
    are gapless and unique, and a rolled-back write gives its number back.
    """
    assert connection.in_atomic_block, "room_next_seq must run inside the write's transaction"
    table = ChatRoom._meta.db_table
    sql = f"UPDATE {table} SET last_seq = last_seq + 1, last_activity_at = %s WHERE id = %s"
    params: list[Any] = [timezone.now(), room_id]
    if not allow_closed:
        sql += " AND is_closed = %s"
        params.append(False)
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING last_seq, kind", params)
        row = cursor.fetchone()
    if row is None:
        raise room_not_writable(room_id=room_id)
    return NextSeq(int(row[0]), row[1])


def room_next_seqs(*, counts: Mapping[int, int]) -> dict[int, NextSeq]:
    """Take ``counts[room]`` consecutive change numbers of each room at once, in the caller's
    transaction (a group of sends): the last number taken in each room and its kind, so the
    room's numbers run ``seq - count + 1 … seq``. A room closed or gone is missing from the
    answer, and nothing was taken from it.

    One ``UPDATE … RETURNING`` for all the rooms (``room_next_seq``'s, with the count per
    room); on a database with row locks the rooms are locked first in id order, so two groups
    naming the same rooms cannot deadlock.
    """
    assert connection.in_atomic_block, "room_next_seqs must run inside the write's transaction"
    if not counts:
        return {}
    ids = sorted(counts)
    table = ChatRoom._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        if connection.features.has_select_for_update:
            cursor.execute(
                f"SELECT id FROM {table} WHERE id IN ({marks}) ORDER BY id FOR UPDATE", ids
            )
        cases = " ".join(["WHEN %s THEN %s"] * len(ids))
        params: list[Any] = [x for room_id in ids for x in (room_id, counts[room_id])]
        params += [timezone.now(), *ids, False]
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + CASE id {cases} END,"
            f" last_activity_at = %s WHERE id IN ({marks}) AND is_closed = %s"
            " RETURNING id, last_seq, kind",
            params,
        )
        rows = cursor.fetchall()
    return {int(room_id): NextSeq(int(seq), kind) for room_id, seq, kind in rows}


def room_not_writable(*, room_id: int) -> ChatError:
    """Why ``room_next_seq`` found no open room ``room_id``: closed, or gone."""
    if ChatRoom.objects.filter(pk=room_id).exists():
        return RoomClosed()
    return NotFound(gettext("No such room."))


def membership_mark_read(*, room: ChatRoom, user: User, seq: int) -> int | None:
    """Move ``last_read_seq`` forward (never back); the new value, or None if it did not move.

    A public room's reader gets a membership on first read, only to remember the place.
    """
    # ``room`` may be a copy held since a socket joined: clamp to the stored counter.
    seq = min(seq, room_last_seq(room_id=room.pk))
    if seq <= 0:
        return None
    with transaction.atomic():
        if room.kind == ChatRoom.PUBLIC:
            Membership.objects.get_or_create(
                room=room, user=user, defaults={"role": Membership.READER}
            )
        moved = Membership.objects.filter(room=room, user=user, last_read_seq__lt=seq).update(
            last_read_seq=seq
        )
    return seq if moved else None


def membership_set_muted(*, room: ChatRoom, user: User, muted: bool) -> None:
    """Mute or unmute a room's notifications for ``user``. A public room's reader gets a
    membership placed at the room's end (muting is not reading, nor a reason to count the
    whole history as unread)."""
    with transaction.atomic():
        if room.kind == ChatRoom.PUBLIC:
            Membership.objects.get_or_create(
                room=room,
                user=user,
                defaults={
                    "role": Membership.READER,
                    "last_read_seq": room_last_seq(room_id=room.pk),
                },
            )
        Membership.objects.filter(room=room, user=user).update(muted=muted)


@transaction.atomic
def room_set_closed(*, room: ChatRoom, closed: bool) -> ChatRoom:
    room.is_closed = closed
    room.save(update_fields=["is_closed"])
    return room
