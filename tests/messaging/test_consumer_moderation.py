"""Moderation on the socket: ``muted``, ``slow_mode``, ``blocked``, ``filtered`` refusals,
kicks, ``room`` frames when a room changes, rule refreshes through the channel layer, and
the per-address connection cap."""

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from chatsite.asgi import application
from chatsite.foundation.publish import apublish
from moderation import actions, rules
from moderation.models import Block, ContentRule
from moderation.services import room_kick, room_mute
from tests.messaging.wsclient import WsClient, connect, make_direct

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]

OLD = {"date_joined": timezone.now() - timedelta(days=1)}


async def test_a_muted_user_gets_muted_with_retry_after_and_nothing_is_broadcast(person, room):
    alice, bob = await person(**OLD), await person(**OLD)
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await database_sync_to_async(room_mute)(room_id=room.id, user=alice, seconds=3600, by=None)
    await a.send(type="send", room=room.id, body="hi", client_id="m1", ref="r")
    error = await a.expect("error")
    assert error["code"] == "muted" and error["ref"] == "r"
    assert 3590 <= error["retry_after"] <= 3600
    await b.nothing_but_quiet()
    await a.close()
    await b.close()


async def test_a_kick_sends_left_kicked_to_the_users_joined_sockets_only(person, room):
    alice = await person(**OLD)
    joined, elsewhere = await connect(alice), await connect(alice)
    await joined.join(room.id)
    await database_sync_to_async(room_kick)(room_id=room.id, user=alice, by=None)
    assert await joined.expect("left") == {"type": "left", "room": room.id, "reason": "kicked"}
    await elsewhere.nothing_but_quiet()
    await joined.send(type="send", room=room.id, body="hey", client_id="k1")
    assert (await joined.expect("error"))["code"] == "not_joined"
    await joined.join(room.id)
    await joined.send(type="send", room=room.id, body="hey", client_id="k1")
    assert (await joined.expect("error"))["code"] == "muted"
    await joined.close()
    await elsewhere.close()


async def test_slow_mode_is_announced_with_a_room_frame_and_refuses_fast_sends(person, room):
    alice, bob = await person(**OLD), await person(**OLD)
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await database_sync_to_async(actions.room_slow_mode_set)(room_id=room.id, seconds=20, by=None)
    frame = await b.expect("room")
    assert frame["room"]["id"] == room.id and frame["room"]["slow_mode"] == 20
    await a.expect("room")
    await a.send(type="send", room=room.id, body="one", client_id="s1")
    await a.expect("ack", skip=("message",))
    await a.send(type="send", room=room.id, body="two", client_id="s2")
    error = await a.expect("error", skip=("message",))
    assert error["code"] == "slow_mode" and 18 <= error["retry_after"] <= 20
    await a.close()
    await b.close()


async def test_a_block_refuses_sends_in_the_direct_room_and_tells_both_with_a_room_frame(person):
    owner, borrower = await person(**OLD), await person(**OLD)
    room = await make_direct(owner, borrower)
    o, b = await connect(owner), await connect(borrower)
    await o.join(room.id)
    await b.join(room.id)
    await database_sync_to_async(actions.block_create)(blocker=owner, blocked_id=borrower.id)
    assert (await o.expect("room"))["room"]["blocked"] is True
    assert (await b.expect("room"))["room"]["blocked"] is True
    await b.send(type="send", room=room.id, body="please", client_id="b1")
    assert (await b.expect("error"))["code"] == "blocked"
    await o.nothing_but_quiet()
    await database_sync_to_async(actions.block_delete)(blocker=owner, blocked_id=borrower.id)
    assert (await b.expect("room"))["room"]["blocked"] is False
    await b.send(type="send", room=room.id, body="thanks", client_id="b2")
    await b.expect("ack", skip=("message", "room"))
    assert not await database_sync_to_async(Block.objects.exists)()
    await o.close()
    await b.close()


async def test_a_rule_change_announced_on_the_channel_layer_reaches_the_hub(person, room):
    alice = await person(**OLD)
    a = await connect(alice)
    await a.join(room.id)
    await a.send(type="send", room=room.id, body="a forbidden word", client_id="f1")
    await a.expect("ack", skip=("message",))  # the rules are compiled (none) and cached
    # Written behind this process's back, as another process would: only the channel
    # layer's announcement can make the hub drop its compiled rules.
    await database_sync_to_async(ContentRule.objects.create)(kind="word", pattern="forbidden")
    await apublish(rules.RULES_GROUP, "rules")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3
    while rules._compiled is not None:  # the hub's pump runs the invalidation
        assert loop.time() < deadline, "the hub never dropped its compiled rules"
        await asyncio.sleep(0.01)
    await a.send(type="send", room=room.id, body="a forbidden word", client_id="f2")
    error = await a.expect("error", skip=("message",))
    assert error["code"] == "filtered" and "forbidden" not in error["detail"]
    await a.close()


async def open_from(address: str, user) -> tuple[WebsocketCommunicator, bool, object]:
    comm = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"http://localhost"), (b"x-forwarded-for", address.encode())],
        subprotocols=["chat.v1", f"bearer.{user.access}"],
    )
    connected, _ = await comm.connect(timeout=5)
    return comm, connected, None


async def test_sockets_past_the_per_address_cap_close_with_4429(person, settings):
    settings.CHAT = {**settings.CHAT, "MAX_CONNECTIONS_PER_ADDRESS": 2}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    users = [await person() for _ in range(4)]
    first, _, _ = await open_from("203.0.113.9", users[0])
    second, _, _ = await open_from("203.0.113.9", users[1])
    for comm in (first, second):
        await comm.send_to(text_data=json.dumps({"type": "ping"}))
        assert json.loads(await comm.receive_from())["type"] == "pong"
    third, _, _ = await open_from("203.0.113.9", users[2])
    closed = await third.receive_output(3)
    assert closed == {"type": "websocket.close", "code": 4429}
    other, _, _ = await open_from("198.51.100.1", users[3])
    await other.send_to(text_data=json.dumps({"type": "ping"}))
    assert json.loads(await other.receive_from())["type"] == "pong"
    await first.disconnect()
    again = WsClient(*(await open_from("203.0.113.9", users[2]))[:1], "chat.v1")
    await again.send(type="ping")
    await again.expect("pong")
    for comm in (second, other):
        await comm.disconnect()
    await again.close()
