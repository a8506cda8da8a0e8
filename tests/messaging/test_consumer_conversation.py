"""(v1.1) Conversation over the socket: ``send`` with ``reply_to``, ``react``, mentions'
``notify``, and a reconnect by cursor that replays reactions."""

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chatsite.foundation.publish import room_group
from messaging.services import message_send
from tests.factories import PublicRoomFactory
from tests.messaging.wsclient import connect

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


async def test_send_with_reply_to_carries_the_preview(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="who has a tent?", client_id="p")
    parent = (await a.expect("ack"))["message"]
    await a.expect("message")  # its own, as everyone's
    await b.expect("message")
    await b.send(type="send", room=room.id, body="me", client_id="r", reply_to=parent["id"])
    reply = (await b.expect("ack"))["message"]
    assert reply["reply_to"] == {
        "id": parent["id"],
        "seq": parent["seq"],
        "author": parent["author"],
        "body": "who has a tent?",
        "deleted": False,
    }
    assert (await a.expect("message"))["message"] == reply
    await a.close()
    await b.close()


async def test_reply_to_a_message_of_another_room_is_not_found(person, room):
    alice = await person()
    other = await database_sync_to_async(PublicRoomFactory)()
    elsewhere, _ = await database_sync_to_async(message_send)(
        room_id=other.id, author=alice, body="there", client_id="e"
    )
    a = await connect(alice)
    await a.join(room.id)
    await a.send(
        type="send", room=room.id, body="x", client_id="r", reply_to=elsewhere.id, ref="s1"
    )
    error = await a.expect("error")
    assert (error["code"], error["ref"]) == ("not_found", "s1")
    await a.send(type="send", room=room.id, body="x", client_id="r2", reply_to="7", ref="s2")
    assert (await a.expect("error"))["code"] == "bad_request"
    await a.nothing_but_quiet(0.2)  # nothing stored, nothing broadcast
    await a.close()


async def test_react_broadcasts_the_whole_message_with_a_new_rev(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="hello", client_id="m")
    message = (await a.expect("ack"))["message"]
    await a.expect("message")
    await b.expect("message")
    await b.send(type="react", message=message["id"], emoji="👍", on=True)
    for client in (a, b):
        got = (await client.expect("message"))["message"]
        assert got["rev"] == message["rev"] + 1 and got["body"] == "hello"
        assert got["reactions"] == [{"emoji": "👍", "count": 1, "users": [bob.id]}]
    await b.send(type="react", message=message["id"], emoji="👍", on=True)  # already so
    await b.send(type="react", message=message["id"], emoji="👍", on=False)
    for client in (a, b):
        got = (await client.expect("message"))["message"]
        assert got["rev"] == message["rev"] + 2 and got["reactions"] == []
    await a.close()
    await b.close()


async def test_one_reaction_is_one_group_send_and_one_frame_per_member(person, room, monkeypatch):
    """A burst of reactions costs what a burst of messages does: per change, one send to the
    room's group (the same as a ``send``) and exactly one frame to each member."""
    layer = get_channel_layer()
    sent_to_room: list[str] = []  # the frame types sent to the room's group
    real_group_send = layer.group_send

    async def counting_group_send(group, message):
        if group == room_group(room.id):
            sent_to_room.append(orjson.loads(message.get("text", "{}")).get("type", ""))
        await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", counting_group_send)
    people = [await person() for _ in range(3)]
    clients = [await connect(p) for p in people]
    for client in clients:
        await client.join(room.id)
    await clients[0].send(type="send", room=room.id, body="hello", client_id="m")
    message = (await clients[0].expect("ack"))["message"]
    for client in clients:
        await client.expect("message")
    after_send = sent_to_room.count("message")
    for n, (client, emoji) in enumerate(zip(clients, ["👍", "🎉", "👍"], strict=True), start=1):
        await client.send(type="react", message=message["id"], emoji=emoji, on=True)
        for receiver in clients:
            got = (await receiver.expect("message"))["message"]
            assert got["rev"] == message["rev"] + n
    for receiver in clients:
        await receiver.nothing_but_quiet(0.2)  # one frame each per reaction, no more
    assert after_send == 1
    assert sent_to_room.count("message") == after_send + 3
    for client in clients:
        await client.close()


@pytest.mark.parametrize(
    "frame",
    [
        {"emoji": "thumbs up", "on": True},
        {"emoji": "👍👎", "on": True},
        {"emoji": "👍"},
        {"emoji": "👍", "on": 1},
        {"on": True},
    ],
)
async def test_bad_reactions_are_refused_and_change_nothing(person, room, frame):
    alice = await person()
    a = await connect(alice)
    await a.join(room.id)
    await a.send(type="send", room=room.id, body="hello", client_id="m")
    message = (await a.expect("ack"))["message"]
    await a.expect("message")
    await a.send(type="react", message=message["id"], ref="x", **frame)
    error = await a.expect("error")
    assert (error["code"], error["ref"]) == ("bad_request", "x")
    await a.nothing_but_quiet(0.2)
    await a.close()


@pytest.mark.parametrize("recent_frames", [500, 0], ids=["from-memory", "from-database"])
async def test_a_reconnect_by_cursor_replays_reactions(person, room, settings, recent_frames):
    settings.CHAT = {**settings.CHAT, "RECENT_FRAMES": recent_frames}
    alice, bob = await person(), await person()
    a = await connect(alice)
    await a.join(room.id)
    await a.send(type="send", room=room.id, body="hello", client_id="m")
    message = (await a.expect("ack"))["message"]
    cursor = message["rev"]
    await a.close()  # away
    b = await connect(bob)
    await b.join(room.id)
    await b.send(type="react", message=message["id"], emoji="🎉", on=True)
    await b.expect("message")
    await b.send(type="react", message=message["id"], emoji="❤️", on=True)
    await b.expect("message")
    back = await connect(alice)
    await back.send(type="join", room=room.id, cursor=cursor)
    # From the database the message once at its latest rev; from the process's recent frames
    # each change in turn, up to what the process has (with Redis, a broadcast may still be on
    # its way back to this process: it then follows `joined`, live). Either way the client
    # ends holding the latest.
    held, joined = {}, None
    while joined is None or held.get(message["id"], {}).get("rev") != cursor + 2:
        frame = await back.recv()
        if frame["type"] == "message":
            held[frame["message"]["id"]] = frame["message"]
        elif frame["type"] == "joined":
            joined = frame
    assert cursor < joined["cursor"] <= cursor + 2
    replayed = held[message["id"]]
    assert replayed["rev"] == cursor + 2
    assert [r["emoji"] for r in replayed["reactions"]] == ["🎉", "❤️"]
    await back.close()
    await b.close()


async def test_reactions_share_the_send_rate(person, room, settings):
    settings.CHAT = {**settings.CHAT, "SEND_RATE": 2}
    alice = await person()
    a = await connect(alice)
    await a.join(room.id)
    await a.send(type="send", room=room.id, body="hello", client_id="m")
    message = (await a.expect("ack"))["message"]
    await a.expect("message")
    await a.send(type="react", message=message["id"], emoji="👍", on=True)
    assert (await a.expect("message"))["message"]["reactions"]
    await a.send(type="react", message=message["id"], emoji="🎉", on=True, ref="r")
    error = await a.expect("error")
    assert (error["code"], error["ref"]) == ("rate_limited", "r") and error["retry_after"] >= 1
    await a.close()


async def test_a_mention_notifies_the_mentioned_users_connections_outside_the_room(person, room):
    alice, bob, carol = await person(), await person(), await person()
    a = await connect(alice)
    await a.join(room.id)
    inbox, inside = await connect(bob), await connect(bob)
    await inside.join(room.id)
    watcher = await connect(carol)
    body = f"look @{bob.nickname}#{bob.tag}"
    await a.send(type="send", room=room.id, body=body, client_id="m")
    sent = (await a.expect("ack"))["message"]
    assert sent["mentions"] == [bob.id]
    note = await inbox.expect("notify")
    assert note["room"] == room.id and note["message"]["id"] == sent["id"]
    assert (await inside.expect("message"))["message"]["mentions"] == [bob.id]
    await inside.nothing_but_quiet(0.2)  # joined: the message, no notify
    await watcher.nothing_but_quiet(0.1)  # not mentioned
    for client in (a, inbox, inside, watcher):
        await client.close()


async def test_no_mention_notify_from_a_blocked_author_or_a_muted_room(person, room):
    from channels.db import database_sync_to_async

    from moderation.services import block_create
    from rooms.models import Membership

    alice, bob, carol = await person(), await person(), await person()
    await database_sync_to_async(block_create)(blocker=bob, blocked_id=alice.id)
    await database_sync_to_async(Membership.objects.create)(room=room, user=carol, muted=True)
    a = await connect(alice)
    await a.join(room.id)
    bob_inbox, carol_inbox = await connect(bob), await connect(carol)
    body = f"hey @{bob.nickname}#{bob.tag} @{carol.nickname}#{carol.tag}"
    await a.send(type="send", room=room.id, body=body, client_id="q")
    assert sorted((await a.expect("ack"))["message"]["mentions"]) == sorted([bob.id, carol.id])
    await bob_inbox.nothing_but_quiet(0.3)  # blocks the author: never notified
    await carol_inbox.nothing_but_quiet(0.1)  # muted the room: never notified
    for client in (a, bob_inbox, carol_inbox):
        await client.close()
