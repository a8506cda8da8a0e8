"""The handshake and limits against real server processes (Daphne and uvicorn) over real sockets."""

import asyncio
import json
from collections import Counter

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from tests.e2e.site import expired_token, general_room, guest, recv, send, ws_open


async def test_server_selects_chat_v1(server_site):
    me = guest(server_site.http_url)
    async with await ws_open(server_site.ws_url, me["access"]) as ws:
        assert ws.subprotocol == "chat.v1"
        await send(ws, type="ping")
        assert await recv(ws, "pong") == {"type": "pong"}


async def test_handshake_without_chat_v1_is_refused(server_site):
    from websockets.asyncio.client import connect

    me = guest(server_site.http_url)
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            server_site.ws_url,
            subprotocols=[Subprotocol(f"bearer.{me['access']}")],
            origin="http://localhost",
        )
    assert refused.value.response.status_code == 403


async def test_wrong_origin_is_refused_with_403(server_site):
    me = guest(server_site.http_url)
    with pytest.raises(InvalidStatus) as refused:
        await ws_open(server_site.ws_url, me["access"], origin="https://evil.example")
    assert refused.value.response.status_code == 403


async def test_expired_token_is_closed_4401(server_site):
    me = guest(server_site.http_url)
    token = expired_token(server_site.env["SECRET_KEY"], me["user"]["id"])
    async with await ws_open(server_site.ws_url, token) as ws:
        assert ws.subprotocol == "chat.v1"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 4401


async def test_a_70_kib_frame_is_closed_1009(server_site):
    me = guest(server_site.http_url)
    room = general_room(server_site.http_url, me["access"])
    async with await ws_open(server_site.ws_url, me["access"]) as ws:
        await send(ws, type="join", room=room)
        await recv(ws, "joined")
        await ws.send(
            json.dumps(
                {"type": "send", "room": room, "body": "x" * (70 * 1024), "client_id": "big"}
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 1009


async def test_a_reader_that_stops_reading_is_closed_4408_and_the_room_goes_on(server_site):
    """The slow client's library stops reading after 16 frames, its kernel buffers fill, the
    server's transport starts buffering, and past CHAT_OUTBOX_MAX_BYTES (256 KiB here) the
    server closes it."""
    writer, reader, slow = (guest(server_site.http_url) for _ in range(3))
    room = general_room(server_site.http_url, writer["access"])
    async with (
        await ws_open(server_site.ws_url, writer["access"]) as w,
        await ws_open(server_site.ws_url, reader["access"]) as r,
        await ws_open(server_site.ws_url, slow["access"], max_queue=1) as s,
    ):
        for ws in (w, r, s):
            await send(ws, type="join", room=room)
            await recv(ws, "joined")
        # s now reads nothing more. Each message is ~2 KB; write until the server gives up on s.
        body = "z" * 2000
        log = server_site.log
        for n in range(6000):
            await send(w, type="send", room=room, body=body, client_id=f"flood-{n}")
            await recv(w, "ack")
            await recv(r, "message")  # the reader that keeps up gets every one, promptly
            if n % 100 == 99 and "ws slow reader" in log.read_text():
                break
        assert "close=4408" in log.read_text()
        await send(w, type="ping")
        await recv(w, "pong")


@pytest.mark.parametrize(("kind", "code"), [("daphne", 1001), ("uvicorn", 1012)])
async def test_sigterm_closes_every_socket_and_the_process_exits(tmp_path, kind, code):
    """Clients are told at once (1001 "going away" / 1012 "service restart") and reconnect."""
    import signal as signals

    from tests.e2e.site import migrate, site_env
    from tests.servers import start_server

    env = site_env(tmp_path)
    migrate(env)
    server = start_server(kind, env, tmp_path / f"{kind}.log")
    try:
        me = guest(server.http_url)
        sockets = [await ws_open(server.ws_url, me["access"]) for _ in range(3)]
        for ws in sockets:
            await send(ws, type="ping")
            await recv(ws, "pong")
        server.process.send_signal(signals.SIGTERM)
        for ws in sockets:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd.code == code
        assert await asyncio.to_thread(server.process.wait, 10) is not None
    finally:
        server.stop()


async def test_a_signal_is_handled_while_the_loops_wakeup_socket_is_full():
    """The cause of Daphne ignoring a SIGTERM under load, in one process: while the loop is
    busy, a thread's ``call_soon_threadsafe`` calls (a database call's completion each) fill
    the loop's self-pipe, and the byte ``loop.add_signal_handler`` depends on is dropped."""
    import os
    import signal as signals
    import threading

    from messaging.servers import on_signal

    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()
    previous = signals.getsignal(signals.SIGUSR1)
    on_signal(signals.SIGUSR1, arrived.set)
    try:

        def finish_many_calls_then_signal() -> None:
            for _ in range(20_000):  # far more one-byte writes than the socket buffer holds
                loop.call_soon_threadsafe(lambda: None)
            os.kill(os.getpid(), signals.SIGUSR1)

        thread = threading.Thread(target=finish_many_calls_then_signal)
        thread.start()
        thread.join()  # the loop is held up meanwhile, as by a long fan-out
        await asyncio.wait_for(arrived.wait(), 5)
    finally:
        signals.signal(signals.SIGUSR1, previous)


RECEIVERS, SENDERS, BURST = 250, 25, 16


async def test_daphne_under_load_stops_on_the_first_sigterm_from_a_process_manager(tmp_path):
    """Started as a process manager starts it, with a few hundred joined sockets and senders
    bursting: one SIGTERM closes every open socket with 1001 and the process exits within
    the drain time."""
    import signal as signals

    from messaging.servers import DRAIN_SECONDS
    from tests.e2e.site import migrate, site_env
    from tests.servers import start_server

    env = site_env(tmp_path, CHAT_MAX_CONNECTIONS_PER_USER="1000")
    migrate(env)
    server = start_server("daphne", env, tmp_path / "daphne.log", service=True)
    sockets = []
    try:
        me = guest(server.http_url)
        room = general_room(server.http_url, me["access"])
        sockets = [await ws_open(server.ws_url, me["access"]) for _ in range(RECEIVERS + SENDERS)]
        for ws in sockets:
            await send(ws, type="join", room=room)
        for ws in sockets:
            await recv(ws, "joined", timeout=30)
        for n, ws in enumerate(sockets[RECEIVERS:]):  # bursts, no waiting for acks
            for k in range(BURST):
                await send(ws, type="send", room=room, body=f"{n}-{k}", client_id=f"{n}-{k}")
        # Every receiver joins again: hundreds of database calls in flight at once, their
        # completions queued on the loop while it fans the messages out.
        for ws in sockets[1:RECEIVERS]:
            await send(ws, type="leave", room=room)
            await send(ws, type="join", room=room, cursor=0)
        for _ in range(SENDERS * BURST // 4):  # in the thick of it
            await recv(sockets[0], "message", timeout=30)
        server.process.send_signal(signals.SIGTERM)
        stopped_at = asyncio.get_running_loop().time()
        exited = asyncio.create_task(asyncio.to_thread(server.process.wait, DRAIN_SECONDS + 2))

        async def close_code(ws) -> int | None:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

        codes = await asyncio.gather(
            *(asyncio.wait_for(close_code(ws), DRAIN_SECONDS + 5) for ws in sockets),
            return_exceptions=True,
        )
        took = asyncio.get_running_loop().time() - stopped_at
        log = server.log.read_text().splitlines()
        said = [line for line in log if "SIGTERM" in line or "wakeup" in line]
        assert await exited is not None, f"still running {took:.1f} s after SIGTERM: {said}"
        assert took < DRAIN_SECONDS + 2, said
        assert codes == [1001] * len(sockets), (Counter(map(repr, codes)), said)
    finally:
        server.stop()
        for ws in sockets:
            await ws.close()


async def test_a_closed_socket_leaves_nothing_for_the_collector(tmp_path):
    """The production server freezes what its sockets hold (messaging.servers.GcKeeper), so a
    closed socket's objects must be freed by reference counting: a cycle among them (the
    session and its outbox; uvicorn's HTTP protocol and its parser after the upgrade) would
    hide them from every collection but a full one. 2,400 sockets closed through a real
    uvicorn: no full collection needed, the heap as it was (with either cycle back: four full
    collections)."""
    import urllib.request

    from tests.e2e.site import migrate, site_env
    from tests.servers import start_server

    env = site_env(tmp_path, CHAT_GC_FREEZE_INTERVAL="0.2", CHAT_MAX_CONNECTIONS_PER_USER="1000")
    migrate(env)
    server = start_server("uvicorn", env, tmp_path / "uvicorn.log")

    def metric(name: str) -> float:
        with urllib.request.urlopen(f"{server.http_url}/metrics", timeout=10) as response:
            lines = response.read().decode().splitlines()
        return next(float(line.split()[-1]) for line in lines if line.startswith(name + " "))

    async def open_joined(count: int) -> list:
        sockets = [await ws_open(server.ws_url, me["access"]) for _ in range(count)]
        for ws in sockets:
            await send(ws, type="join", room=room)
        for ws in sockets:
            await recv(ws, "joined")
        return sockets

    try:
        me = guest(server.http_url)
        room = general_room(server.http_url, me["access"])
        sockets = await open_joined(200)
        await asyncio.sleep(0.6)
        opened = metric("chat_heap_blocks")
        for _ in range(12):  # 2,400 sockets closed, 200 open at any time
            await asyncio.gather(*(ws.close() for ws in sockets))
            sockets = await open_joined(200)
        await asyncio.sleep(0.6)
        assert metric("chat_gc_full_collection_seconds_count") == 0
        assert metric("chat_heap_blocks") <= 1.2 * opened, (opened, metric("chat_heap_blocks"))
    finally:
        server.stop()
