"""Data for the benchmarks, written with the server's own settings and printed as JSON.

Run by ``bench.common.Stack.seed`` in the environment of the server it measures:

    python -m bench.seed users 500        # guests, each with an access token
    python -m bench.seed direct 250       # listings with one direct room each (owner, borrower)
    python -m bench.seed history 1000000  # a public room holding that many messages
"""

from __future__ import annotations

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django.setup()

import orjson  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import guest_create, tokens_for_user  # noqa: E402
from rooms.models import ChatRoom, Listing  # noqa: E402
from rooms.services import direct_room_get_or_create  # noqa: E402

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
                "(room_id, author_id, body, client_id, seq, rev, created_at) "
                f"SELECT %s, %s, %s || ' ' || x, 'seed-' || x, x, x, %s {rows}",
                [room.id, author.id, BODY, timezone.now(), count]
                if connection.vendor == "postgresql"
                else [count, room.id, author.id, BODY, timezone.now()],
            )
        ChatRoom.objects.filter(pk=room.pk).update(last_seq=count)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"room": room.id, "reader": person(guest_create())}


def main() -> None:
    command, count = sys.argv[1], int(sys.argv[2])
    result = {"users": users, "direct": direct, "history": history}[command](count)
    sys.stdout.buffer.write(orjson.dumps({"result": result, "general": general_room()}))


if __name__ == "__main__":
    main()
