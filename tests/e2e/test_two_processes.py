"""Two server processes sharing one Redis and one PostgreSQL, as in production: one uvicorn
(the production server) and one Daphne, so both are proven to work together."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.site import (
    general_room,
    guest,
    http,
    migrate,
    recv,
    recv_message,
    send,
    site_env,
    ws_open,
)
from tests.servers import ROOT, start_server

PRESENCE_TTL = 3.0
KINDS = ("uvicorn", "daphne")


@pytest.fixture(scope="module")
def cluster(postgres_server, redis_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    name = f"cluster_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(name)
    env = site_env(
        tmp,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{postgres_server.port}/{name}",
        REDIS_URL=f"{redis_server.url[:-1]}1",  # db 1: the consumer tests flush db 0
        CHAT_PRESENCE_TTL=str(PRESENCE_TTL),
        CHAT_PRESENCE_COALESCE="0.05",
    )
    migrate(env)
    servers = [start_server(kind, env, tmp / f"{kind}.log") for kind in KINDS]
    yield env, servers
    for server in servers:
        server.stop()


def run_in_site(env, code: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE"}
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        check=True,
    )


async def test_clients_on_two_processes_chat_see_presence_and_heal_after_kill_9(cluster):
    _, (a, b) = cluster
    alice, bob = guest(a.http_url), guest(b.http_url)
    room = general_room(a.http_url, alice["access"])
    async with (
        await ws_open(a.ws_url, alice["access"]) as on_a,
        await ws_open(b.ws_url, bob["access"]) as on_b,
    ):
        await send(on_a, type="join", room=room)
        await recv(on_a, "joined")
        await send(on_b, type="join", room=room)
        joined = await recv(on_b, "joined")
        assert joined["online"] == 2
        seen = await recv(on_a, "presence", online=2)
        assert {u["id"] for u in seen["users"]} == {alice["user"]["id"], bob["user"]["id"]}

        await send(on_a, type="send", room=room, body="hello from A", client_id="a1")
        assert (await recv_message(on_b, "hello from A"))["author"]["id"] == alice["user"]["id"]
        await send(on_b, type="send", room=room, body="hello from B", client_id="b1")
        assert (await recv_message(on_a, "hello from B"))["author"]["id"] == bob["user"]["id"]
        await send(on_b, type="typing", room=room)
        assert (await recv(on_a, "typing"))["user"]["id"] == bob["user"]["id"]

        killed_at = time.monotonic()
        b.process.send_signal(signal.SIGKILL)  # no goodbye: its presence entries must expire
        await recv(on_a, "presence", timeout=PRESENCE_TTL + 2, online=1)
        assert time.monotonic() - killed_at <= PRESENCE_TTL + 0.5


async def test_a_ban_closes_the_users_sockets_on_every_process(cluster):
    env, servers = cluster
    for n, server in enumerate(servers):
        if server.process.poll() is not None:  # the previous test killed one: start it again
            servers[n] = start_server(KINDS[n], env, server.log, port=server.port)
    a, b = servers
    target = guest(a.http_url)
    sockets = [await ws_open(s.ws_url, target["access"]) for s in (a, b)]
    for ws in sockets:
        await send(ws, type="ping")
        await recv(ws, "pong")
    started = time.monotonic()
    await asyncio.to_thread(
        run_in_site,
        env,
        "from accounts.models import User; from accounts.services import user_ban; "
        f"user_ban(user=User.objects.get(pk={target['user']['id']}))",
    )
    for ws in sockets:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 4403
    assert time.monotonic() - started < 10
    # Both processes had the user's snapshot cached (their handshakes above); the ban, made
    # by a third process, invalidated it in the Redis cache they share: the next handshake
    # on either is refused at once, not when the snapshot expires.
    for server in (a, b):
        async with await ws_open(server.ws_url, target["access"]) as again:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(again.recv(), 5)
            assert closed.value.rcvd.code == 4403


async def test_a_room_deleted_elsewhere_is_gone_from_every_process_at_once(cluster):
    env, servers = cluster
    for n, server in enumerate(servers):
        if server.process.poll() is not None:
            servers[n] = start_server(KINDS[n], env, server.log, port=server.port)
    a, b = servers
    owner = guest(a.http_url)
    status, made = http(
        "POST", f"{a.http_url}/api/rooms/", {"name": f"r{uuid.uuid4().hex[:8]}"}, owner["access"]
    )
    assert status == 201, made
    for server in (a, b):  # each process caches the room's snapshot on a join
        async with await ws_open(server.ws_url, owner["access"]) as ws:
            await send(ws, type="join", room=made["id"])
            await recv(ws, "joined")
    await asyncio.to_thread(
        run_in_site,
        env,
        f"from rooms.models import ChatRoom; ChatRoom.objects.filter(pk={made['id']}).delete()",
    )
    for server in (a, b):
        async with await ws_open(server.ws_url, owner["access"]) as ws:
            await send(ws, type="join", room=made["id"])
            assert (await recv(ws, "error"))["code"] == "not_found"
