"""Joining and leaving rooms, presence, and the frames a user gets for rooms not joined
(``notify``, ``room``)."""

import pytest
from channels.db import database_sync_to_async

from messaging.services import direct_room_open, message_send
from tests.factories import ListingFactory
from tests.messaging.wsclient import connect, make_direct

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


async def test_join_reports_cursor_and_presence(person, room):
    user = await person()
    await database_sync_to_async(message_send)(
        room_id=room.id, author=user, body="hi", client_id="c"
    )
    client = await connect(user)
    joined = await client.join(room.id)
    assert joined["cursor"] == 1
    assert joined["online"] == 1
    assert [u["id"] for u in joined["users"]] == [user.id]
    await client.close()


async def test_join_a_direct_room_of_others_is_not_found(person):
    owner, borrower, stranger = await person(), await person(), await person()
    direct = await make_direct(owner, borrower)
    client = await connect(stranger)
    await client.send(type="join", room=direct.id, ref="j1")
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("not_found", "j1")
    member = await connect(borrower)
    assert (await member.join(direct.id))["room"] == direct.id
    await client.close()
    await member.close()


async def test_join_a_missing_room_is_not_found(person):
    client = await connect(await person())
    await client.send(type="join", room=999_999)
    assert (await client.expect("error"))["code"] == "not_found"
    await client.close()


async def test_presence_counts_distinct_users_and_follows_leaves(person, room):
    alice, bob = await person(), await person()
    a = await connect(alice)
    await a.join(room.id)
    b1, b2 = await connect(bob), await connect(bob)
    await b1.join(room.id)
    joined = await b2.join(room.id)
    assert joined["online"] == 2  # bob's two tabs count once
    frame = await a.expect("presence", online=2)
    assert {u["id"] for u in frame["users"]} == {alice.id, bob.id}
    await b1.send(type="leave", room=room.id)
    assert await b1.expect("left") == {"type": "left", "room": room.id}
    await b2.close()
    await a.expect("presence", online=1)
    await a.close()
    await b1.close()


async def test_presence_frames_are_coalesced(person, room, settings):
    settings.CHAT = {**settings.CHAT, "PRESENCE_COALESCE": 0.3}
    watcher = await connect(await person())
    await watcher.join(room.id)
    crowd = [await connect(await person()) for _ in range(30)]
    for client in crowd:
        await client.send(type="join", room=room.id)
    for client in crowd:
        await client.expect("joined")
    final = await watcher.expect("presence", timeout=5, online=31)
    presence_frames = [f for f in watcher.seen if f["type"] == "presence"]
    assert len(presence_frames) <= 5, presence_frames
    assert final["online"] == 31 and len(final["users"]) == 31
    for client in [watcher, *crowd]:
        await client.close()


async def test_leave_stops_room_frames(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await b.send(type="leave", room=room.id)
    await b.expect("left")
    await a.send(type="send", room=room.id, body="anyone?", client_id="x")
    await a.expect("ack")
    await b.nothing_but_quiet()
    await a.close()
    await b.close()


async def test_notify_reaches_member_connections_that_have_not_joined(person):
    owner, borrower = await person(), await person()
    direct = await make_direct(owner, borrower)
    inbox, chat = await connect(owner), await connect(owner)
    await chat.join(direct.id)
    b = await connect(borrower)
    await b.join(direct.id)
    await b.send(type="send", room=direct.id, body="is it free?", client_id="c")
    note = await inbox.expect("notify")
    assert note["room"] == direct.id and note["message"]["body"] == "is it free?"
    assert (await chat.expect("message"))["message"]["body"] == "is it free?"
    await chat.nothing_but_quiet(0.2)
    for client in (inbox, chat, b):
        await client.close()


async def test_owner_gets_a_room_frame_when_a_direct_room_is_made(person):
    owner, visitor = await person(), await person()
    listing = await database_sync_to_async(ListingFactory)(owner=owner)
    o = await connect(owner)
    await o.send(type="ping")
    await o.expect("pong")
    await database_sync_to_async(direct_room_open)(listing=listing, user=visitor)
    frame = await o.expect("room")
    assert frame["room"]["kind"] == "direct" and frame["room"]["peer"]["id"] == visitor.id
    await o.close()


async def test_a_muted_room_sends_no_notify(person):
    from rooms.services import membership_set_muted

    owner, borrower = await person(), await person()
    direct = await make_direct(owner, borrower)
    inbox = await connect(owner)
    await database_sync_to_async(membership_set_muted)(room=direct, user=owner, muted=True)
    b = await connect(borrower)
    await b.join(direct.id)
    await b.send(type="send", room=direct.id, body="quiet", client_id="c1")
    await b.expect("ack")
    await database_sync_to_async(membership_set_muted)(room=direct, user=owner, muted=False)
    await b.send(type="send", room=direct.id, body="loud", client_id="c2")
    # The first notify the inbox gets is the unmuted one: "quiet" was never sent to it.
    note = await inbox.expect("notify")
    assert note["message"]["body"] == "loud"
    assert [f["message"]["body"] for f in inbox.seen if f["type"] == "notify"] == ["loud"]
    for client in (inbox, b):
        await client.close()
