"""How much a user may do over the socket: the send rate, the connection cap, typing."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import ChatMessage
from tests.messaging.wsclient import connect

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


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
    await tab1.send(type="send", room=room.id, body="one too many", client_id="c9", ref="s9")
    error = await tab1.expect("error", skip=("message",))
    assert (error["code"], error["ref"]) == ("rate_limited", "s9")
    assert 1 <= error["retry_after"] <= 10
    assert await database_sync_to_async(ChatMessage.objects.count)() == 4
    await tab1.close()
    await tab2.close()


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
    fourth = await registered()  # a slot is free again: the refused one took none
    await second.close()
    await fourth.close()


async def test_typing_reaches_others_not_the_typist_and_is_throttled(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="typing", room=room.id)
    frame = await b.expect("typing")
    assert frame["user"]["id"] == alice.id and frame["room"] == room.id
    await a.send(type="typing", room=room.id)  # within 2 s: dropped
    # A message published after it: the room's frames arrive in order, so a second typing
    # frame, had there been one, would reach bob before this message.
    await a.send(type="send", room=room.id, body="hi", client_id="after-typing")
    await a.expect("ack")
    await b.expect("message")
    assert not [f for f in a.seen if f["type"] == "typing"]
    assert len([f for f in b.seen if f["type"] == "typing"]) == 1
    await a.close()
    await b.close()
