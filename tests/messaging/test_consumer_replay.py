"""Replays: ``join`` with a cursor, ``sync``, ``reset``, and the background resync after a
channel-layer outage, which a ``join``, ``sync`` or ``leave`` of the same room never
interleaves with."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chatsite.foundation.publish import apublish_all, collecting, event, room_group
from messaging import feed as feed_module
from messaging.hub import Hub, get_hub
from messaging.models import ChatMessage
from messaging.services import message_delete, message_send
from tests.factories import messages
from tests.messaging.wsclient import QUIET, WsClient, connect

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


async def _message(room, seq):
    return await database_sync_to_async(ChatMessage.objects.get)(room=room, seq=seq)


async def test_join_with_cursor_replays_changes_in_rev_order(person, room):
    alice = await person()
    send = database_sync_to_async(message_send)
    for n in range(5):
        await send(room_id=room.id, author=alice, body=f"m{n}", client_id=f"c{n}")
    await database_sync_to_async(message_delete)(message_id=(await _message(room, 2)).id, by=alice)
    client = await connect(alice)
    await client.send(type="join", room=room.id, cursor=3)
    replay = [await client.expect("message") for _ in range(3)]
    assert [(f["message"]["seq"], f["message"]["rev"]) for f in replay] == [(4, 4), (5, 5), (2, 6)]
    joined = await client.expect("joined")
    assert joined["cursor"] == 6
    await client.close()


async def test_too_much_to_replay_sends_reset(person, room, settings):
    settings.CHAT = {**settings.CHAT, "REPLAY_MAX": 3}
    alice = await person()
    for n in range(5):
        await database_sync_to_async(message_send)(
            room_id=room.id, author=alice, body=f"m{n}", client_id=f"c{n}"
        )
    client = await connect(alice)
    await client.send(type="join", room=room.id, cursor=0)
    assert await client.expect("reset") == {"type": "reset", "room": room.id, "cursor": 5}
    assert (await client.expect("joined"))["cursor"] == 5
    await client.close()


async def test_sync_replays_after_the_cursor(person, room):
    alice = await person()
    client = await connect(alice)
    await client.join(room.id)
    for n in range(3):
        await database_sync_to_async(message_send)(
            room_id=room.id, author=alice, body=f"m{n}", client_id=f"c{n}"
        )
    for _ in range(3):
        await client.expect("message")
    await client.send(type="sync", room=room.id, cursor=1)
    replay = [(await client.expect("message"))["message"]["seq"] for _ in range(2)]
    assert replay == [2, 3]
    assert (await client.expect("joined"))["cursor"] == 3  # marks the end of the replay
    await client.close()


async def test_a_rejoin_from_memory_never_skips_a_change_still_on_its_way(person, room):
    """The hub's recent frames end at 3 while the room has committed 4, whose broadcast has
    not arrived yet: the rejoin is replayed to 3, says cursor 3, and 4 then arrives live."""
    alice = await person()
    watcher = await connect(alice)  # keeps the room watched, so the hub keeps its frames
    await watcher.join(room.id)
    send = database_sync_to_async(message_send)
    for n in range(3):
        await send(room_id=room.id, author=alice, body=f"m{n}", client_id=f"c{n}")
        await watcher.expect("message")
    # Committed; its broadcast held back (``collecting`` hands the events to us instead).
    _, in_flight = await database_sync_to_async(collecting(message_send))(
        room_id=room.id, author=alice, body="late", client_id="late"
    )
    client = await connect(alice)
    await client.send(type="join", room=room.id, cursor=1)
    replay = [(await client.expect("message"))["message"]["seq"] for _ in range(2)]
    assert replay == [2, 3]
    assert (await client.expect("joined"))["cursor"] == 3  # not 4: 4 has not been sent
    await apublish_all(in_flight)
    assert (await client.expect("message"))["message"]["seq"] == 4
    await client.close()
    await watcher.close()


# --- a resync and the client's own requests ---------------------------------------------------


class HeldReads:
    """The feed's database read of changes; the first call (the resync's) waits until
    ``release`` is set. ``after_second`` runs once the second call has read."""

    def __init__(self, real, after_second=None) -> None:
        self.real = real
        self.after_second = after_second
        self.calls = 0
        self.first_entered = asyncio.Event()
        self.first_ended = asyncio.Event()  # returned, or cancelled
        self.release = asyncio.Event()

    async def __call__(self, **kwargs):
        self.calls += 1
        if self.calls == 1:
            self.first_entered.set()
            try:
                await self.release.wait()
                return await self.real(**kwargs)
            finally:
                self.first_ended.set()
        found = await self.real(**kwargs)
        if self.calls == 2 and self.after_second is not None:
            await self.after_second()
        return found


async def _layer_comes_back(hub: Hub) -> None:
    """What the hub does when its channel layer failed and works again: every socket
    replays, from the database, what it missed meanwhile."""
    hub._broadcasts_may_be_lost()
    await hub._add_all_groups()


async def _commit_and_deliver(hub: Hub, **send) -> None:
    """A message committed now whose broadcast reaches this process's hub at once."""
    _, events = await database_sync_to_async(collecting(message_send))(**send)
    for group, kind, fields in events:
        hub.dispatch(event(group, kind, **fields))


def _session_of(hub: Hub, user):
    (session,) = [s for s in hub.connections if s.user_id == user.id]
    return session


async def _frames_until(client: WsClient, kind: str) -> list[dict]:
    frames = []
    while (frame := await client.recv())["type"] != kind:
        if frame["type"] not in QUIET:
            frames.append(frame)
    return [*frames, frame]


async def _nothing_more(client: WsClient, reads: HeldReads) -> None:
    """Once the resync's read has ended, nothing but quiet frames arrives before a pong
    (anything the resync sent would already be queued ahead of it)."""
    reads.release.set()
    await reads.first_ended.wait()
    await client.send(type="ping")
    await client.expect("pong")


async def test_a_leave_during_a_resync_gets_no_replay_after_left_and_leaves_nothing(
    person, room, monkeypatch
):
    alice, writer = await person(), await person()
    client = await connect(alice)
    await client.join(room.id)
    # Written while the layer was away: stored, never broadcast; the resync replays them.
    await database_sync_to_async(messages)(room=room, author=writer, count=3)
    reads = HeldReads(feed_module.amessages_changed_since)
    monkeypatch.setattr(feed_module, "amessages_changed_since", reads)
    hub = await get_hub()
    await _layer_comes_back(hub)
    await reads.first_entered.wait()  # the resync is reading the database
    await client.send(type="leave", room=room.id)
    assert await client.expect("left") == {"type": "left", "room": room.id}
    await _nothing_more(client, reads)
    session = _session_of(hub, alice)
    assert room.id not in session.feeds
    assert session not in hub.groups.get(room_group(room.id), ())
    assert room.id not in hub.room_users
    await client.close()


async def test_a_join_during_a_resync_gets_its_held_frames_once_in_rev_order(
    person, room, monkeypatch
):
    alice, writer = await person(), await person()
    client = await connect(alice)
    await client.join(room.id)
    await database_sync_to_async(messages)(room=room, author=writer, count=3)  # revs 1-3, lost
    hub = await get_hub()

    async def fifth_arrives_while_the_join_replays():
        await _commit_and_deliver(hub, room_id=room.id, author=writer, body="5th", client_id="5")

    reads = HeldReads(feed_module.amessages_changed_since, fifth_arrives_while_the_join_replays)
    monkeypatch.setattr(feed_module, "amessages_changed_since", reads)
    await _layer_comes_back(hub)
    await reads.first_entered.wait()  # the resync is reading the database
    # Rev 4 arrives live meanwhile: held for the replay.
    await _commit_and_deliver(hub, room_id=room.id, author=writer, body="4th", client_id="4")
    await client.send(type="join", room=room.id, cursor=0)
    frames = await _frames_until(client, "joined")
    assert [f["message"]["rev"] for f in frames[:-1]] == [1, 2, 3, 4, 5]
    assert frames[-1]["cursor"] == 5
    await _nothing_more(client, reads)
    feed = _session_of(hub, alice).feeds[room.id]
    assert (feed.held, feed.sent_rev) == (None, 5)
    await client.close()
