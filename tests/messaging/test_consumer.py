"""Every frame, error and close code of chat.v1, on the in-memory layer and on Redis."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import AccessToken

from accounts.services import guest_create, tokens_for_user, user_ban
from messaging.models import ChatMessage
from messaging.services import direct_room_open, message_delete, message_send
from rooms.models import ChatRoom, Membership
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room
from tests.messaging.wsclient import WsClient

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


@pytest.fixture
def person():
    @database_sync_to_async
    def make(**fields):
        user = UserFactory(**fields) if fields else guest_create()
        user.access = tokens_for_user(user=user)["access"]
        return user

    return make


@database_sync_to_async
def make_direct(owner, borrower):
    return direct_room(listing=ListingFactory(owner=owner), borrower=borrower)


@pytest.fixture
def room():
    return PublicRoomFactory(name="lobby")


async def connect(user, **kwargs) -> WsClient:
    client, connected = await WsClient.open(user.access, **kwargs)
    assert connected and client.subprotocol == "chat.v1"
    return client


# --- handshake ---------------------------------------------------------------------------


async def test_handshake_selects_chat_v1(person):
    client = await connect(await person())
    await client.send(type="ping")
    assert await client.recv() == {"type": "pong"}
    await client.close()


async def test_handshake_without_chat_v1_is_refused(person):
    _, connected = await WsClient.open((await person()).access, subprotocols=[])
    assert connected is False


async def test_handshake_from_a_foreign_origin_is_refused(person):
    _, connected = await WsClient.open((await person()).access, origin=b"https://evil.example")
    assert connected is False


async def test_authorization_header_works_for_non_browser_clients(person):
    client, connected = await WsClient.open((await person()).access, origin=None, header_token=True)
    assert connected and client.subprotocol == "chat.v1"
    await client.close()


@pytest.mark.parametrize("token", [None, "not-a-token", "refresh", "expired"])
async def test_bad_token_is_accepted_then_closed_4401_with_nothing_else(person, token):
    user = await person()
    refresh = (await database_sync_to_async(tokens_for_user)(user=user))["refresh"]
    raw = {
        None: None,
        "not-a-token": "abc.def.ghi",
        "refresh": refresh,
        "expired": _token_expiring(user, seconds=-120),
    }[token]
    client, connected = await WsClient.open(raw)
    assert connected and client.subprotocol == "chat.v1"
    assert await client.recv() == {"type": "__close__", "code": 4401}


async def test_banned_user_is_closed_4403(person):
    user = await person()
    await database_sync_to_async(user_ban)(user=user)
    client, connected = await WsClient.open(user.access)
    assert connected
    assert await client.recv() == {"type": "__close__", "code": 4403}


def _token_expiring(user, *, seconds: float) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=datetime.now(tz=UTC), lifetime=timedelta(seconds=seconds))
    return str(token)


# --- join, leave, presence ---------------------------------------------------------------


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


# --- send, ack, broadcast ----------------------------------------------------------------


async def test_send_acks_the_sender_and_broadcasts_to_the_room(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="hello bob", client_id="c-1", ref="r1")
    ack = await a.expect("ack")
    assert ack["client_id"] == "c-1" and ack["ref"] == "r1"
    assert ack["message"]["body"] == "hello bob" and ack["message"]["seq"] == 1
    received = await b.expect("message")
    assert received["message"] == ack["message"]
    assert (await a.expect("message"))["message"]["id"] == ack["message"]["id"]
    stored = await database_sync_to_async(ChatMessage.objects.get)()
    assert stored.author_id == alice.id
    await a.close()
    await b.close()


async def test_sends_and_deliveries_are_counted_in_metrics(person, room):
    from chatsite.foundation import metrics

    sent = metrics.messages_sent_total._value.get()
    delivered = metrics.deliveries_total._value.get()
    a, b = await connect(await person()), await connect(await person())
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="count me", client_id="m")
    await a.expect("ack")
    await b.expect("message")
    assert metrics.messages_sent_total._value.get() == sent + 1
    assert metrics.deliveries_total._value.get() >= delivered + 2
    await a.close()
    await b.close()


async def test_a_repeated_client_id_acks_the_stored_message_and_broadcasts_nothing(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="once", client_id="dup")
    first = await a.expect("ack")
    await b.expect("message")
    await a.expect("message")  # the sender's own echo
    await a.send(type="send", room=room.id, body="once", client_id="dup")
    again = await a.expect("ack")
    assert again["message"] == first["message"]
    await b.nothing_but_quiet()
    assert await database_sync_to_async(ChatMessage.objects.count)() == 1
    await a.close()
    await b.close()


async def test_identity_fields_in_a_frame_are_ignored(person, room):
    alice, mallory = await person(), await person()
    m = await connect(mallory)
    await m.join(room.id)
    await m.send(
        type="send", room=room.id, body="hi", client_id="c", author=alice.id, user=alice.id
    )
    ack = await m.expect("ack")
    assert ack["message"]["author"]["id"] == mallory.id
    await m.close()


async def test_send_before_join_is_not_joined(person, room):
    client = await connect(await person())
    await client.send(type="send", room=room.id, body="hi", client_id="c")
    assert (await client.expect("error"))["code"] == "not_joined"
    assert await database_sync_to_async(ChatMessage.objects.count)() == 0
    await client.close()


@pytest.mark.parametrize(
    ("body", "code"),
    [("", "empty"), ("   \n ", "empty"), ("x" * 2001, "too_long"), (7, "bad_request")],
)
async def test_bad_bodies_are_refused_and_write_nothing(person, room, body, code):
    client = await connect(await person())
    await client.join(room.id)
    await client.send(type="send", room=room.id, body=body, client_id="c", ref="b")
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == (code, "b")
    assert error["detail"]
    assert await database_sync_to_async(ChatMessage.objects.count)() == 0
    await client.send(type="ping")
    assert (await client.expect("pong"))["type"] == "pong"  # the connection lives on
    await client.close()


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '"text"',
        "{}",
        '{"type": "dance"}',
        '{"type": "chat.event", "group": "room.1", "kind": "close", "code": 4403}',
        '{"type": "send", "room": 1}',
        '{"type": "join", "room": "1"}',
        '{"type": "join", "room": -1}',
        '{"type": "join", "room": true}',
        '{"type": "sync", "room": 1}',
        '{"type": "edit", "message": 1}',
    ],
)
async def test_malformed_frames_are_bad_request_and_the_connection_stays(person, raw):
    client = await connect(await person())
    await client.comm.send_to(text_data=raw)
    assert (await client.expect("error"))["code"] == "bad_request"
    await client.send(type="ping")
    await client.expect("pong")
    await client.close()


async def test_binary_frames_are_bad_request(person):
    client = await connect(await person())
    await client.comm.send_to(bytes_data=b"\x00\x01")
    assert (await client.expect("error"))["code"] == "bad_request"
    await client.close()


async def test_a_frame_over_64_kib_closes_1009(person, room):
    client = await connect(await person())
    await client.join(room.id)
    await client.send(type="send", room=room.id, body="x" * (70 * 1024), client_id="big")
    assert await client.closed_with() == 1009
    assert await database_sync_to_async(ChatMessage.objects.count)() == 0


async def test_sends_are_rate_limited_across_a_users_connections(person, room, settings):
    settings.CHAT = {**settings.CHAT, "SEND_RATE": 4, "SEND_WINDOW": 10.0}
    user = await person()
    tab1, tab2 = await connect(user), await connect(user)
    await tab1.join(room.id)
    await tab2.join(room.id)
    for n in range(4):
        await (tab1 if n % 2 else tab2).send(
            type="send", room=room.id, body=f"m{n}", client_id=f"c{n}"
        )
        await (tab1 if n % 2 else tab2).expect("ack", skip=("message",))
    await tab1.send(type="send", room=room.id, body="one too many", client_id="c9")
    error = await tab1.expect("error", skip=("message",))
    assert error["code"] == "rate_limited"
    assert 1 <= error["retry_after"] <= 10
    assert await database_sync_to_async(ChatMessage.objects.count)() == 4
    await tab1.close()
    await tab2.close()


async def test_send_to_a_closed_room(person, room):
    client = await connect(await person())
    await client.join(room.id)
    await database_sync_to_async(ChatRoom.objects.filter(pk=room.id).update)(is_closed=True)
    await client.send(type="send", room=room.id, body="hi", client_id="c")
    assert (await client.expect("error"))["code"] == "room_closed"
    await client.close()


# --- edit, delete --------------------------------------------------------------------------


async def test_edit_and_delete_reach_the_room_with_new_revs(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="helo", client_id="c")
    message_id = (await a.expect("ack"))["message"]["id"]
    await b.expect("message")
    await a.send(type="edit", message=message_id, body="hello")
    edited = (await b.expect("message"))["message"]
    assert (edited["body"], edited["seq"], edited["rev"]) == ("hello", 1, 2)
    assert edited["edited_at"] is not None
    await a.send(type="delete", message=message_id)
    deleted = (await b.expect("message", timeout=3))["message"]
    assert (deleted["deleted"], deleted["body"], deleted["rev"]) == (True, "", 3)
    await a.close()
    await b.close()


async def test_only_the_author_edits_and_staff_may_delete(person, room):
    alice, bob, staff = await person(), await person(), await person(is_staff=True)
    a, b, s = await connect(alice), await connect(bob), await connect(staff)
    await a.join(room.id)
    await a.send(type="send", room=room.id, body="mine", client_id="c")
    message_id = (await a.expect("ack"))["message"]["id"]
    await b.send(type="edit", message=message_id, body="yours", ref="e")
    assert (await b.expect("error"))["code"] == "forbidden"
    await b.send(type="delete", message=message_id)
    assert (await b.expect("error"))["code"] == "forbidden"
    await b.send(type="edit", message=123_456, body="x")
    assert (await b.expect("error"))["code"] == "not_found"
    await s.send(type="delete", message=message_id)
    await a.expect("message")  # a's own send
    assert (await a.expect("message"))["message"]["deleted"] is True
    for client in (a, b, s):
        await client.close()


async def test_admin_removal_vanishes_live(person, room):
    alice = await person()
    a = await connect(alice)
    await a.join(room.id)
    await a.send(type="send", room=room.id, body="bad words", client_id="c")
    message_id = (await a.expect("ack"))["message"]["id"]
    await a.expect("message")
    staff = await database_sync_to_async(UserFactory)(is_staff=True)
    await database_sync_to_async(message_delete)(message_id=message_id, by=staff)
    assert (await a.expect("message"))["message"]["deleted"] is True
    await a.close()


# --- typing, read ----------------------------------------------------------------------------


async def test_typing_reaches_others_not_the_typist_and_is_throttled(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="typing", room=room.id)
    frame = await b.expect("typing")
    assert frame["user"]["id"] == alice.id and frame["room"] == room.id
    await a.send(type="typing", room=room.id)  # within 2 s: dropped
    await asyncio.sleep(0.3)
    await a.send(type="ping")
    await a.expect("pong")
    assert not [f for f in a.seen if f["type"] == "typing"]
    assert len([f for f in b.seen if f["type"] == "typing"]) == 1
    await a.close()
    await b.close()


async def test_read_moves_forward_and_tells_the_room(person, guest_client):
    owner, borrower = await person(), await person()
    direct = await make_direct(owner, borrower)
    o, b = await connect(owner), await connect(borrower)
    await o.join(direct.id)
    await b.join(direct.id)
    for n in range(3):
        await o.send(type="send", room=direct.id, body=f"m{n}", client_id=f"c{n}")
        await o.expect("ack", skip=("message",))
    await b.send(type="read", room=direct.id, seq=2)
    frame = await o.expect("read", skip=("message",))
    assert (frame["user"]["id"], frame["seq"]) == (borrower.id, 2)
    await b.send(type="read", room=direct.id, seq=1)  # backwards: no frame, no change
    membership = await database_sync_to_async(Membership.objects.get)(room=direct, user=borrower)
    assert membership.last_read_seq == 2
    await o.close()
    await b.close()


# --- replay, sync, reset ---------------------------------------------------------------------


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


async def _message(room, seq):
    return await database_sync_to_async(ChatMessage.objects.get)(room=room, seq=seq)


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


# --- per-user frames: notify, room, ban -----------------------------------------------------


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


async def test_ban_closes_every_connection_of_the_user_4403(person, room):
    target, other = await person(), await person()
    tabs = [await connect(target) for _ in range(3)]
    await tabs[0].join(room.id)
    bystander = await connect(other)
    await database_sync_to_async(user_ban)(user=target)
    for tab in tabs:
        assert await tab.closed_with() == 4403
    await bystander.send(type="ping")
    await bystander.expect("pong")
    await bystander.close()


# --- connection limits and token life ------------------------------------------------------


async def test_too_many_connections_close_4429(person, settings):
    settings.CHAT = {**settings.CHAT, "MAX_CONNECTIONS_PER_USER": 2}
    user = await person()

    async def registered():  # a pong comes only once the connect handler has finished
        client = await connect(user)
        await client.send(type="ping")
        await client.expect("pong")
        return client

    first, second = await registered(), await registered()
    third = await connect(user)
    assert await third.closed_with() == 4429
    await first.close()
    fourth = await registered()  # a slot is free again
    await second.close()
    await fourth.close()


async def test_a_socket_whose_token_expires_unrenewed_closes_4401(person):
    user = await person()
    # Expired 28 s ago: still inside the 30 s leeway, so it connects, then runs out.
    client, connected = await WsClient.open(_token_expiring(user, seconds=-28))
    assert connected
    started = time.monotonic()
    await client.send(type="ping")
    await client.expect("pong")
    assert await client.closed_with(timeout=4) == 4401
    assert time.monotonic() - started < 3.5


async def test_auth_frame_with_a_fresh_token_keeps_the_socket(person):
    user = await person()
    client, connected = await WsClient.open(_token_expiring(user, seconds=-28))
    assert connected
    await client.send(type="auth", token=user.access)
    await asyncio.sleep(2.5)
    await client.send(type="ping")
    assert (await client.expect("pong"))["type"] == "pong"
    await client.close()


async def test_auth_frame_cannot_change_user_or_use_a_refresh_token(person):
    user, other = await person(), await person()
    client = await connect(user)
    await client.send(type="auth", token=other.access, ref="a")
    assert (await client.expect("error"))["code"] == "forbidden"
    refresh = (await database_sync_to_async(tokens_for_user)(user=user))["refresh"]
    await client.send(type="auth", token=refresh)
    assert (await client.expect("error"))["code"] == "forbidden"
    await client.close()


async def test_a_rejoin_from_memory_never_skips_a_change_still_on_its_way(person, room):
    """The hub's recent frames end at 3 while the room has committed 4, whose broadcast has
    not arrived yet: the rejoin is replayed to 3, says cursor 3, and 4 then arrives live."""
    from chatsite.foundation.publish import apublish_all, collecting

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
