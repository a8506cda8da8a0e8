"""PostgreSQL goes away under a running server, and comes back."""

import asyncio
import time
import urllib.request
import uuid

import pytest

from tests.e2e.site import general_room, guest, http, migrate, recv, send, site_env, ws_open
from tests.servers import start_daphne, start_postgres


@pytest.fixture
def pg_site(tmp_path):
    server = start_postgres()  # its own: this test stops it
    name = f"outage_{uuid.uuid4().hex[:8]}"
    server.create_database(name)
    env = site_env(
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{server.port}/{name}",
        DB_POOL_TIMEOUT="2",
    )
    migrate(env)
    daphne = start_daphne(env, tmp_path / "daphne.log")
    yield daphne, server
    daphne.stop()
    server.remove()


def ready_status(base_url: str) -> int:
    try:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def ready_within(base_url: str, seconds: float) -> int:
    """``/readyz`` until it answers 200 (its last answer, after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while (status := ready_status(base_url)) != 200 and time.monotonic() < deadline:
        time.sleep(0.25)
    return status


async def test_sends_answer_unavailable_while_postgres_is_down_and_resume_after(pg_site):
    daphne, postgres = pg_site
    me = guest(daphne.http_url)
    room = general_room(daphne.http_url, me["access"])
    async with await ws_open(daphne.ws_url, me["access"]) as ws:
        await send(ws, type="join", room=room)
        await recv(ws, "joined")
        await send(ws, type="send", room=room, body="before", client_id="before")
        await recv(ws, "ack")

        await asyncio.to_thread(postgres.stop, "fast")
        assert await asyncio.to_thread(ready_status, daphne.http_url) == 503
        await send(ws, type="send", room=room, body="during", client_id="during", ref="during")
        error = await recv(ws, "error", timeout=20)
        assert (error["code"], error["ref"]) == ("unavailable", "during")
        await send(ws, type="ping")
        await recv(ws, "pong")  # the socket survived

        await asyncio.to_thread(postgres.resume)
        # The pool reconnects in the background, with backoff after the failed attempts.
        assert await asyncio.to_thread(ready_within, daphne.http_url, 30) == 200
        await send(ws, type="send", room=room, body="during", client_id="during")  # the retry
        ack = await recv(ws, "ack", timeout=20)
        assert (ack["message"]["body"], ack["message"]["seq"]) == ("during", 2)

    status, history = http(
        "GET", f"{daphne.http_url}/api/rooms/{room}/messages/", token=me["access"]
    )
    assert status == 200
    assert [(m["seq"], m["body"]) for m in history["results"]] == [(1, "before"), (2, "during")]
    # The embedded task worker (a thread of this server) outlived the outage.
    log = daphne.log.read_text()
    assert "Exception in thread chat-task-worker" not in log
    assert "task worker: database unavailable" in log
