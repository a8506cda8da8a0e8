"""Opening a socket, its token's life, and closing it from the server: handshake, 4401,
4403, the ``auth`` frame."""

import time

import pytest
from channels.db import database_sync_to_async

from accounts.services import tokens_for_user, user_ban
from tests.messaging.wsclient import WsClient, connect, token_expiring

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


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
        "expired": token_expiring(user, seconds=-120),
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


async def test_a_socket_whose_token_expires_unrenewed_closes_4401(person):
    user = await person()
    # Expired 28 s ago: still inside the 30 s leeway, so it connects, then runs out.
    client, connected = await WsClient.open(token_expiring(user, seconds=-28))
    assert connected
    started = time.monotonic()
    await client.send(type="ping")
    await client.expect("pong")
    assert await client.closed_with(timeout=4) == 4401
    assert time.monotonic() - started < 3.5


async def test_auth_frame_with_a_fresh_token_keeps_the_socket(person):
    user = await person()
    client, connected = await WsClient.open(token_expiring(user, seconds=-28))
    assert connected
    await client.send(type="auth", token=user.access)
    await client.send(type="ping")
    await client.expect("pong")  # frames are handled in order: the auth one is done
    # The old token would have closed the socket within 2 s (+ the leeway); nothing does.
    await client.nothing_but_quiet(2.5)
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
