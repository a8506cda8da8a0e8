"""A known user's handshake and a public room's join read no database (issue 16, target 3):
the user and the room come from snapshots in the cache, which a ban or a room change
invalidates at once; an empty or unreachable cache is a database read, never a refusal."""

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from channels.db import database_sync_to_async
from django.db.backends import utils as db_utils

from accounts.services import user_ban, user_unban
from chatsite.foundation.snapshots import snapshot_get, snapshot_invalidate
from rooms.selectors import room_get_for_socket
from rooms.services import room_set_closed
from tests.messaging.wsclient import WsClient, connect

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


@contextlib.contextmanager
def queries_anywhere() -> Iterator[list[str]]:
    """Every SQL statement run while inside, on any thread and connection (the socket's
    database work runs on Channels' database thread, not the test's)."""
    seen: list[str] = []
    lock = threading.Lock()
    original = db_utils.CursorWrapper._execute_with_wrappers

    def counting(self, sql, params, many, executor):  # type: ignore[no-untyped-def]
        with lock:
            seen.append(sql)
        return original(self, sql, params, many, executor)

    db_utils.CursorWrapper._execute_with_wrappers = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        db_utils.CursorWrapper._execute_with_wrappers = original  # type: ignore[method-assign]


@pytest.fixture(params=["locmem", "redis-cache"])
def cache_kind(request, settings, layer):
    """The embedded default's LocMemCache, and (with the Redis layer) the shared Redis cache
    production uses."""
    if request.param == "redis-cache":
        if layer != "redis":
            pytest.skip("the Redis cache goes with the Redis layer")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": settings.CHAT["REDIS_URL"],
                "KEY_PREFIX": "chat",
            }
        }
    return request.param


async def test_a_known_users_handshake_and_rejoin_of_a_public_room_cost_no_query(
    person, room, cache_kind
):
    watcher, user = await person(), await person()
    first = await connect(watcher)
    await first.join(room.id)
    await first.send(type="send", room=room.id, body="hi", client_id="c1")
    ack = await first.expect("ack")
    await first.expect("message")
    warm = await connect(user)  # the first handshake and join read the database ...
    await warm.join(room.id)
    await warm.close()

    with queries_anywhere() as seen:  # ... the next ones do not
        again = await connect(user)
        await again.send(type="join", room=room.id, cursor=0)
        joined = await again.expect("joined", skip=("message",))
        fresh = await connect(user)
        plain = await fresh.join(room.id)
    assert seen == []
    assert [f["message"]["id"] for f in again.seen if f["type"] == "message"] == [
        ack["message"]["id"]
    ]
    assert joined["cursor"] == plain["cursor"] == ack["message"]["rev"]
    for client in (again, fresh, first):
        await client.close()


async def test_without_a_cached_snapshot_the_user_and_the_room_are_read(person, room):
    """The cold path, counted: the user and their chosen language (the handshake), the room
    (the join), then the replay, from the database since no frame of the room is in this
    process's memory."""
    user = await person()
    with queries_anywhere() as seen:
        client = await connect(user)
        await client.join(room.id, cursor=0)
    tables = [sql.split(" FROM ", 1)[1].split()[0] for sql in seen]
    assert tables == [
        '"accounts_user"',
        '"notifications_notificationsettings"',
        '"rooms_chatroom"',
        '"messaging_chatmessage"',
    ], seen
    await client.close()


async def test_a_ban_is_seen_by_the_next_handshake_at_once(person, cache_kind):
    user = await person()
    client = await connect(user)  # the snapshot is cached now
    await client.send(type="ping")  # answered once the socket follows its user's group
    assert (await client.recv())["type"] == "pong"
    await database_sync_to_async(user_ban)(user=user)
    assert await client.closed_with() == 4403
    again, _ = await WsClient.open(user.access)
    assert await again.closed_with() == 4403
    await database_sync_to_async(user_unban)(user=user)
    back = await connect(user)
    await back.send(type="ping")
    assert (await back.recv())["type"] == "pong"
    await back.close()


async def test_a_room_change_or_deletion_is_seen_by_the_next_join(person, room, cache_kind):
    user, room_id = await person(), room.id
    client = await connect(user)
    await client.join(room_id)
    get = database_sync_to_async(room_get_for_socket)
    assert (await get(room_id=room_id, user=user)).is_closed is False
    await database_sync_to_async(room_set_closed)(room=room, closed=True)
    assert (await get(room_id=room_id, user=user)).is_closed is True
    await database_sync_to_async(room.delete)()
    await client.send(type="leave", room=room_id)
    await client.expect("left")
    await client.send(type="join", room=room_id)
    assert (await client.expect("error"))["code"] == "not_found"
    await client.close()


async def test_an_unreachable_cache_is_a_database_read_not_a_refusal(person, room, settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    user = await person()
    for _ in range(2):
        client = await connect(user)
        await client.join(room.id)
        await client.close()
    await database_sync_to_async(user_ban)(user=user)
    refused, _ = await WsClient.open(user.access)
    assert await refused.closed_with() == 4403


def test_a_row_loaded_while_it_changed_is_never_served_after_the_change():
    """The race a plain delete-on-change loses: a reader loads the old row, the change
    commits and invalidates, then the reader stores what it loaded. The version it stored
    under is the one before the change, so the next reader loads afresh."""

    def load_while_changing() -> str:
        snapshot_invalidate("thing", 1)  # the change lands between the read and the store
        return "old"

    assert snapshot_get("thing", 1, load_while_changing) == "old"
    assert snapshot_get("thing", 1, lambda: "new") == "new"
    assert snapshot_get("thing", 1, lambda: "newer") == "new"  # cached now
    snapshot_invalidate("thing", 1)
    assert snapshot_get("thing", 1, lambda: "newest") == "newest"
