import threading
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.db import connection, transaction

from accounts.services import tokens_for_user
from messaging import purge
from messaging.models import ChatMessage
from messaging.purge import rooms_purge_idle
from messaging.services import message_send
from rooms.models import ChatRoom
from tests.conftest import waiting_on_a_lock
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room
from tests.messaging.wsclient import WsClient

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """Frozen time that the test moves by hand."""
    now = {"value": START}
    monkeypatch.setattr("django.utils.timezone.now", lambda: now["value"])

    def move(**delta):
        now["value"] = now["value"] + timedelta(**delta)

    return move


def _rooms(owner=None):
    owner = owner or UserFactory()
    return direct_room(listing=ListingFactory(owner=owner), borrower=UserFactory())


@pytest.mark.django_db
def test_purge_idle_and_never_used_direct_rooms_only(clock):
    public = PublicRoomFactory()
    idle, busy, never_used, fresh = _rooms(), _rooms(), _rooms(), None
    for room in (idle, busy, public):
        message_send(room_id=room.id, author=UserFactory(), body="hi", client_id=f"c{room.id}")
    clock(days=20)
    message_send(room_id=busy.id, author=UserFactory(), body="still here", client_id="busy2")
    fresh = _rooms()  # made 20 days in, no message yet
    clock(days=11)  # idle: last message 31 days ago; busy: 11 days; fresh: 11 days unused
    purged = {room.id for room in rooms_purge_idle(idle_days=30)}
    assert purged == {idle.id, never_used.id, fresh.id}
    assert set(ChatRoom.objects.values_list("id", flat=True)) >= {public.id, busy.id}
    assert not ChatRoom.objects.filter(pk__in=purged).exists()
    assert not ChatMessage.objects.filter(room_id=idle.id).exists()


@pytest.mark.django_db
def test_a_room_unused_for_less_than_a_day_stays(clock):
    room = _rooms()
    clock(hours=23)
    assert rooms_purge_idle() == []
    clock(hours=2)
    assert [r.id for r in rooms_purge_idle()] == [room.id]


@pytest.mark.django_db
def test_public_rooms_are_never_purged(clock):
    room = PublicRoomFactory()
    message_send(room_id=room.id, author=UserFactory(), body="old", client_id="o")
    clock(days=400)
    assert rooms_purge_idle() == []


@pytest.mark.django_db
def test_command_dry_run_lists_and_deletes_nothing(clock):
    room = _rooms()
    clock(days=2)
    out = StringIO()
    call_command("purge_idle_rooms", "--dry-run", stdout=out)
    assert f"would purge room {room.id}" in out.getvalue()
    assert ChatRoom.objects.filter(pk=room.pk).exists()
    call_command("purge_idle_rooms", "--idle-days", "30", stdout=out)
    assert "purged 1 room(s)" in out.getvalue()
    assert not ChatRoom.objects.filter(pk=room.pk).exists()


@database_sync_to_async
def _member_setup():
    owner = UserFactory()
    room = _rooms(owner)
    owner.access = tokens_for_user(user=owner)["access"]
    return owner, room


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("layer", "hub_cleanup")
async def test_connected_members_are_told_and_the_room_leaves_their_inbox():
    owner, room = await _member_setup()
    in_room, elsewhere = (
        (await WsClient.open(owner.access))[0],
        (await WsClient.open(owner.access))[0],
    )
    await in_room.join(room.id)
    await elsewhere.send(type="ping")
    await elsewhere.expect("pong")
    await database_sync_to_async(ChatRoom.objects.filter(pk=room.pk).update)(
        created_at=START - timedelta(days=2)
    )
    purged = await database_sync_to_async(rooms_purge_idle)()
    assert [r.id for r in purged] == [room.id]
    assert await in_room.expect("removed") == {"type": "removed", "room": room.id}
    assert await elsewhere.expect("removed") == {"type": "removed", "room": room.id}
    await in_room.send(type="send", room=room.id, body="hello?", client_id="x")
    assert (await in_room.expect("error"))["code"] == "not_joined"
    for client in (in_room, elsewhere):
        await client.close()


@pytest.mark.django_db(transaction=True)
def test_a_first_message_sent_after_the_room_was_picked_keeps_it(clock, monkeypatch):
    """The purge picks idle rooms, then deletes them in a transaction; a first message that
    another connection commits in between must keep its room (it was deleted with it)."""
    room, author = _rooms(), UserFactory()
    clock(days=2)  # never used for two days: idle
    picked = purge.rooms_idle

    def pick_then_a_send_lands(**kwargs):
        rooms = picked(**kwargs)
        assert [r.id for r in rooms] == [room.id]

        def send() -> None:
            try:
                message_send(room_id=room.id, author=author, body="just in time", client_id="j")
            finally:
                connection.close()

        thread = threading.Thread(target=send)  # its own database connection
        thread.start()
        thread.join()  # committed before the purge's transaction begins
        return rooms

    monkeypatch.setattr(purge, "rooms_idle", pick_then_a_send_lands)
    assert rooms_purge_idle() == []
    assert ChatRoom.objects.filter(pk=room.pk).exists()
    assert list(ChatMessage.objects.filter(room=room).values_list("body", flat=True)) == [
        "just in time"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_first_message_still_being_written_keeps_its_room(clock):
    """The send has taken the room's row (``room_next_seq``) but not committed when the
    purge picks the room: the purge waits for it, then sees the room in use."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: TEST_DATABASE=postgresql")
    room, author = _rooms(), UserFactory()
    clock(days=2)
    written, commit = threading.Event(), threading.Event()
    purged = []

    def send() -> None:
        try:
            with transaction.atomic():
                message_send(room_id=room.id, author=author, body="in time", client_id="i")
                written.set()
                commit.wait(10)
        finally:
            connection.close()

    def purge_now() -> None:
        try:
            purged.append(rooms_purge_idle())
        finally:
            connection.close()

    writer = threading.Thread(target=send)
    writer.start()
    assert written.wait(10)
    purger = threading.Thread(target=purge_now)
    purger.start()
    deadline = time.monotonic() + 10
    while not waiting_on_a_lock():  # the purge is blocked on the room's row
        assert time.monotonic() < deadline, "the purge never waited for the send"
        purger.join(0.01)
    commit.set()
    writer.join(10)
    purger.join(10)
    assert purged == [[]]
    assert ChatRoom.objects.filter(pk=room.pk).exists()
    assert ChatMessage.objects.filter(room=room).count() == 1


@pytest.mark.django_db
def test_a_purged_room_leaves_nothing_in_the_search_index(clock):
    """(v1.1) Search is kept in step by every write path, a purge's deletes included: on
    SQLite the FTS5 table loses the room's rows (the delete trigger), nothing found after."""
    from messaging.search import FTS_TABLE, messages_search

    room = _rooms()
    owner = room.listing.owner
    message_send(room_id=room.id, author=owner, body="tent pegs for the purge", client_id="p")
    assert len(messages_search(user=owner, q="tent pegs").results) == 1
    clock(days=31)
    assert {r.id for r in rooms_purge_idle(idle_days=30)} == {room.id}
    assert messages_search(user=owner, q="tent pegs").results == []
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {FTS_TABLE} WHERE room = %s", [room.id])
            assert cursor.fetchone() == (0,)
