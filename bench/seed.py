"""Data for the benchmarks, written with the server's own settings and printed as JSON.

Run by ``bench.common.Stack.seed`` in the environment of the server it measures:

    python -m bench.seed users 500        # guests, each with an access token
    python -m bench.seed direct 250       # listings with one direct room each (owner, borrower)
    python -m bench.seed history 1000000  # a public room holding that many messages
    python -m bench.seed search 1000000   # that many messages over 100 rooms, to search (v1.1)
    python -m bench.seed token 42         # an access token for user 42 (a cached database)
    python -m bench.seed public 2000      # that many empty public rooms (bench.rooms --public)
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django.setup()

import orjson  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.backends.utils import CursorWrapper  # noqa: E402
from django.db.models import Subquery  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import guest_create, tokens_for_user  # noqa: E402
from messaging.models import ChatMessage  # noqa: E402
from messaging.search_index import TRIGGERS  # noqa: E402
from rooms.models import ChatRoom, Listing  # noqa: E402
from rooms.services import direct_room_get_or_create  # noqa: E402

SEARCH_MIGRATION = importlib.import_module("messaging.migrations.0004_message_search")
PG_INDEX, PG_UP = SEARCH_MIGRATION.PG_INDEX, SEARCH_MIGRATION.PG_UP

BODY = "a message of about the length people write in a chat, give or take a few words"


def person(user: User) -> dict:
    return {"id": user.id, "access": tokens_for_user(user=user)["access"]}


def users(count: int) -> list[dict]:
    return [person(guest_create()) for _ in range(count)]


def general_room() -> int:
    return ChatRoom.objects.get(kind=ChatRoom.PUBLIC, name__iexact="general").id


@transaction.atomic
def direct(count: int) -> list[dict]:
    pairs = []
    for n in range(count):
        owner, borrower = guest_create(), guest_create()
        listing = Listing.objects.create(owner=owner, title=f"Bench item {n}")
        room, _ = direct_room_get_or_create(listing=listing, user=borrower)
        pairs.append({"room": room.id, "owner": person(owner), "borrower": person(borrower)})
    return pairs


def history(count: int) -> dict:
    """One public room with ``count`` messages (seq 1..count), inserted by one statement."""
    author = guest_create()
    with transaction.atomic():
        room = ChatRoom.objects.create(
            kind=ChatRoom.PUBLIC, name=f"history-{count}-{author.id}", created_by=author
        )
        if connection.vendor == "postgresql":
            rows = "FROM generate_series(1, %s) AS n(x)"
            prefix = ""
        else:
            rows = "FROM n"
            prefix = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < %s) "
        with connection.cursor() as cursor:
            cursor.execute(
                prefix + "INSERT INTO messaging_chatmessage "
                "(room_id, author_id, body, client_id, seq, rev, created_at, mentions, reactions,"
                " media) "
                f"SELECT %s, %s, %s || ' ' || x, 'seed-' || x, x, x, %s, '[]', '[]', '[]' {rows}",
                [room.id, author.id, BODY, timezone.now(), count]
                if connection.vendor == "postgresql"
                else [count, room.id, author.id, BODY, timezone.now()],
            )
        ChatRoom.objects.filter(pk=room.pk).update(last_seq=count)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"room": room.id, "reader": person(guest_create())}


SEARCH_ROOMS = 100


@contextlib.contextmanager
def search_index_deferred(cursor: CursorWrapper) -> Iterator[None]:
    """Bulk writes inside: the search index is dropped before and built once after, from
    every row (inside the caller's transaction), instead of row by row as writes go."""
    if connection.vendor == "postgresql":
        cursor.execute(f"DROP INDEX {PG_INDEX}")
        yield
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign key checks now
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute(PG_UP[0])
        return
    cursor.execute("DROP TRIGGER messaging_search_insert")
    cursor.execute("SELECT max(rowid) FROM messaging_search")
    (indexed,) = cursor.fetchone()
    yield
    cursor.execute(
        "INSERT INTO messaging_search (rowid, body, room) SELECT id, body, room_id"
        " FROM messaging_chatmessage WHERE deleted_at IS NULL AND id > %s",
        [indexed or 0],
    )
    cursor.execute(TRIGGERS["messaging_search_insert"])


def token(user_id: int) -> dict:
    """A fresh access token for a user a cached database holds (tokens are signed with the
    server's ``SECRET_KEY``, new in every stack)."""
    return person(User.objects.get(pk=user_id))


def search(count: int) -> dict:
    """``count`` messages over ``SEARCH_ROOMS`` public rooms (message x in room x mod R),
    English and Korean, some with the phrases ``bench.search`` looks for; inserted by one statement
    (``INSERT … SELECT`` from a series: the rows never leave the database, as with ``COPY``), in
    one transaction, with the search index (trigram GIN, or the FTS5 table) built once after."""
    author = guest_create()
    reader = guest_create()
    with transaction.atomic():
        rooms = ChatRoom.objects.bulk_create(
            [
                ChatRoom(kind=ChatRoom.PUBLIC, name=f"search-{author.id}-{n}", created_by=author)
                for n in range(SEARCH_ROOMS)
            ]
        )
        ids = [room.id for room in rooms]  # RETURNING, on both engines
        first = ids[0]
        assert ids == list(range(first, first + SEARCH_ROOMS)), "room ids are not contiguous"
        # the reader is in a direct room too, so the "rooms I may read" filter has both parts
        listing = Listing.objects.create(owner=author, title="Bench search item")
        direct_room_get_or_create(listing=listing, user=reader)
        body = (
            "%s || ' ' || x"
            " || CASE WHEN x %% 10 = 0 THEN ' camping tent for the weekend' ELSE '' END"
            " || CASE WHEN x %% 10 = 5 THEN ' 주말에 캠핑 텐트 빌려요'"
            " ELSE ' 안녕하세요 반가워요' END"
            " || CASE WHEN x %% 100000 = 7 THEN ' zephyrquartz' ELSE '' END"
            " || CASE WHEN x %% 100000 = 3 THEN ' 반딧불이야영장 예약' ELSE '' END"
        )
        select = (
            "INSERT INTO messaging_chatmessage (room_id, author_id, body, client_id, seq, rev,"
            " created_at, mentions, reactions, media)"
            f" SELECT %s + x %% %s, %s, {body}, 'seed-' || x, x / %s + 1, x / %s + 1, %s,"
            " '[]', '[]', '[]'"
        )
        params = [first, SEARCH_ROOMS, author.id, BODY, SEARCH_ROOMS, SEARCH_ROOMS, timezone.now()]
        if connection.vendor == "postgresql":
            sql, params = select + " FROM generate_series(1, %s) AS n(x)", [*params, count]
        else:
            sql = (
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < %s) "
                + select
                + " FROM n"
            )
            params = [count, *params]
        with connection.cursor() as cursor, search_index_deferred(cursor):
            cursor.execute(sql, params)
        for room_id in ids:
            last = ChatMessage.objects.filter(room_id=room_id).order_by("-seq").values("seq")[:1]
            ChatRoom.objects.filter(pk=room_id).update(last_seq=Coalesce(Subquery(last), 0))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"rooms": ids, "reader": person(reader)}


def public(count: int) -> list[int]:
    """``count`` empty public rooms (one statement); their ids."""
    author = guest_create()
    rooms = ChatRoom.objects.bulk_create(
        ChatRoom(kind=ChatRoom.PUBLIC, name=f"rooms-{author.id}-{n}", created_by=author)
        for n in range(count)
    )
    return [room.id for room in rooms]


def main() -> None:
    command, count = sys.argv[1], int(sys.argv[2])
    commands = {"users": users, "direct": direct, "history": history, "search": search,
                "public": public}  # fmt: skip
    result = {**commands, "token": token}[command](count)
    sys.stdout.buffer.write(orjson.dumps({"result": result, "general": general_room()}))


if __name__ == "__main__":
    main()
