"""Real concurrency on a real database: threads with their own connections."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from messaging.models import ChatMessage
from messaging.services import message_send
from rooms.models import ChatRoom
from rooms.services import direct_room_get_or_create
from tests.conftest import USE_POSTGRES
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not USE_POSTGRES,
        reason="real write concurrency is tested on PostgreSQL (make test runs it)",
    ),
]


def _in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connections.close_all()

    return run


def test_50_sends_from_10_threads_get_gapless_unique_seq():
    room = PublicRoomFactory()
    authors = [UserFactory() for _ in range(10)]
    start = threading.Barrier(10)

    @_in_thread
    def sender(index):
        start.wait()
        return [
            message_send(
                room_id=room.id,
                author=authors[index],
                body=f"{index}-{n}",
                client_id=f"{index}-{n}",
            )[0].seq
            for n in range(5)
        ]

    with ThreadPoolExecutor(10) as pool:
        seqs = [seq for batch in pool.map(sender, range(10)) for seq in batch]
    assert sorted(seqs) == list(range(1, 51))
    assert sorted(ChatMessage.objects.filter(room=room).values_list("seq", flat=True)) == list(
        range(1, 51)
    )
    assert ChatRoom.objects.get(pk=room.pk).last_seq == 50


def test_20_concurrent_lookup_or_create_give_one_room():
    listing = ListingFactory()
    visitor = UserFactory()
    start = threading.Barrier(20)

    @_in_thread
    def opener(_):
        start.wait()
        room, created = direct_room_get_or_create(listing=listing, user=visitor)
        return room.id, created

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(opener, range(20)))
    assert len({room_id for room_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert ChatRoom.objects.filter(kind="direct").count() == 1


def test_concurrent_retries_of_one_client_id_store_one_message():
    room = PublicRoomFactory()
    author = UserFactory()
    start = threading.Barrier(8)

    @_in_thread
    def retry(_):
        start.wait()
        return message_send(room_id=room.id, author=author, body="once", client_id="retry-me")[0].id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(retry, range(8)))
    assert len(ids) == 1
    assert ChatMessage.objects.count() == 1
    assert ChatRoom.objects.get(pk=room.pk).last_seq == 1  # the losers' numbers were given back


def test_database_is_postgresql_here():
    assert connection.vendor == "postgresql"
