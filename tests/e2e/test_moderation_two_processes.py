"""Moderation across two server processes sharing Redis and PostgreSQL (uvicorn + Daphne):
a mute or a content-rule change made through one applies to sends on the other at once, and
the per-address connection cap counts sockets on both."""

import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.site import general_room, guest, http, migrate, recv, send, site_env, ws_open
from tests.e2e.test_two_processes import KINDS, run_in_site
from tests.servers import ROOT, start_server

CAP = 3


@pytest.fixture(scope="module")
def cluster(postgres_server, redis_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("modcluster")
    name = f"mod_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(name)
    env = site_env(
        tmp,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{postgres_server.port}/{name}",
        REDIS_URL=f"{redis_server.url[:-1]}2",  # db 2: other tests flush db 0 and use db 1
        CHAT_MAX_CONNECTIONS_PER_ADDRESS=str(CAP),
    )
    migrate(env)
    servers = [start_server(kind, env, tmp / f"{kind}.log") for kind in KINDS]
    yield env, servers
    for server in servers:
        server.stop()


def staff_token(env) -> str:
    """A staff user's access token, made in the site's own database."""
    code = (
        "from accounts.models import User; from accounts.services import tokens_for_user; "
        f"u = User.objects.create_user('staff{uuid.uuid4().hex[:6]}', is_staff=True); "
        "print(tokens_for_user(user=u)['access'])"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "TEST_DATABASE"}, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def answer(ws) -> dict:
    """The next ``ack`` or ``error`` (broadcasts are passed over)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame["type"] in ("ack", "error"):
            return frame


async def test_a_mute_and_a_rule_made_through_one_process_apply_on_the_other(cluster):
    env, (a, b) = cluster
    alice = guest(b.http_url)
    room = general_room(a.http_url, alice["access"])
    async with await ws_open(b.ws_url, alice["access"]) as on_b:
        await send(on_b, type="join", room=room)
        await recv(on_b, "joined")
        await send(on_b, type="send", room=room, body="a word called zebra", client_id="z1")
        await recv(on_b, "ack")  # process B compiled (no) rules and keeps them

        await asyncio.to_thread(
            run_in_site,
            env,
            "from moderation.models import ContentRule; "
            "from moderation.services import content_rule_save; "
            "content_rule_save(rule=ContentRule(kind='word', pattern='zebra'))",
        )
        loop = asyncio.get_running_loop()
        deadline, n = loop.time() + 3, 0
        while True:  # the announcement reaches B's hub within moments
            n += 1
            await send(on_b, type="send", room=room, body="zebra again", client_id=f"z-{n}")
            frame = await answer(on_b)
            if frame["type"] == "error":
                assert frame["code"] == "filtered" and "zebra" not in frame["detail"]
                break
            assert loop.time() < deadline, "process B kept its old rules"

        status, _ = await asyncio.to_thread(
            http,
            "POST",
            f"{a.http_url}/api/rooms/{room}/mutes/",
            {"user": alice["user"]["id"], "seconds": 600},
            staff_token(env),
        )
        assert status == 201
        await send(on_b, type="send", room=room, body="hello", client_id="after-mute")
        error = await recv(on_b, "error")
        assert error["code"] == "muted" and error["retry_after"] > 590


async def test_the_per_address_cap_counts_sockets_on_both_processes(cluster):
    _, (a, b) = cluster
    people = [guest(a.http_url) for _ in range(CAP + 1)]
    sockets = [
        await ws_open((a if n % 2 else b).ws_url, person["access"])
        for n, person in enumerate(people[:CAP])
    ]
    for ws in sockets:
        await send(ws, type="ping")
        await recv(ws, "pong")
    extra = await ws_open(a.ws_url, people[CAP]["access"])
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(extra.recv(), 5)
    assert closed.value.rcvd.code == 4429
    await sockets[0].close()  # a slot is given back (on B) and is usable on A
    again = await ws_open(a.ws_url, people[CAP]["access"])
    await send(again, type="ping")
    await recv(again, "pong")
    for ws in [*sockets[1:], again]:
        await ws.close()
