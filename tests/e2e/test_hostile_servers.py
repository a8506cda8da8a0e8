"""A hostile client against real server processes (issue 17): logins that stalled the
process, half-sent requests held forever, replays without limit, a reader that never reads
holding megabytes in the kernel, a forged client address, a body read whole before being
refused. Each test is bounded and on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import statistics
import struct
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.site import general_room, guest, http, migrate, recv, send, site_env, ws_open
from tests.servers import Server, start_server

PASSWORD = "a long pass phrase 42"


@pytest.fixture
def serve(tmp_path):
    """``serve(kind, **env)``: a fresh server process of ``kind`` on its own SQLite file."""
    started: list[Server] = []

    def start(kind: str, **extra: str) -> Server:
        env = site_env(tmp_path / f"{kind}-{len(started)}", **extra)
        Path(env["SQLITE_PATH"]).parent.mkdir(parents=True, exist_ok=True)
        migrate(env)
        server = start_server(kind, env, tmp_path / f"{kind}-{len(started)}.log")
        server.env = env  # type: ignore[attr-defined]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _get_seconds(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return time.perf_counter() - started


# --- 1. password hashing must not stall the process -----------------------------------------


async def test_logins_in_a_loop_do_not_stall_healthz_or_acks(serve):
    """Four clients log in (right password: PBKDF2 each time, nothing throttled) in a loop;
    /healthz and send acks stay fast. On one shared thread they took seconds."""
    server = serve("uvicorn", CHAT_LOGIN_FAILURES="100000")
    me = guest(server.http_url)
    status, body = http(
        "POST",
        f"{server.http_url}/api/auth/claim/",
        {"username": "hammered", "password": PASSWORD},
        token=me["access"],
    )
    assert status == 200, body
    stop = threading.Event()
    logins = [0]

    def hammer() -> None:
        while not stop.is_set():
            code, _ = http(
                "POST",
                f"{server.http_url}/api/auth/login/",
                {"username": "hammered", "password": PASSWORD},
            )
            assert code == 200
            logins[0] += 1

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        while logins[0] < 4:  # the loop is under way: every client has had a login served
            await asyncio.to_thread(_get_seconds, f"{server.http_url}/healthz")
        health = [
            await asyncio.to_thread(_get_seconds, f"{server.http_url}/healthz") for _ in range(20)
        ]
        room = general_room(server.http_url, me["access"])
        acks = []
        async with await ws_open(server.ws_url, me["access"]) as ws:
            await send(ws, type="join", room=room)
            await recv(ws, "joined")
            for n in range(10):
                started = time.perf_counter()
                await send(ws, type="send", room=room, body=f"m{n}", client_id=f"h{n}")
                await recv(ws, "ack", timeout=30)
                acks.append(time.perf_counter() - started)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert statistics.median(health) < 0.2, health
    assert statistics.median(acks) < 0.2, acks


# --- 2. half-sent requests -------------------------------------------------------------------


def _half_open(port: int, count: int, payload: bytes) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(payload)
        sockets.append(sock)
    return sockets


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True if the server closed ``sock`` (EOF or reset) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()


@pytest.mark.parametrize(
    "payload",
    [b"GET /healthz HT", b"GET /ws/chat/ HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"],
    ids=["half-request-line", "half-handshake"],
)
def test_uvicorn_closes_connections_that_never_finish_their_headers(serve, payload):
    server = serve("uvicorn", CHAT_HEADER_TIMEOUT="1")
    sockets = _half_open(server.port, 50, payload)
    started = time.monotonic()
    closed = sum(_closed_within(sock, max(0.1, started + 6 - time.monotonic())) for sock in sockets)
    assert closed == 50
    assert _get_seconds(f"{server.http_url}/healthz") < 5  # the server itself is fine


def test_uvicorn_keeps_a_connection_that_finished_its_request(serve):
    server = serve("uvicorn", CHAT_HEADER_TIMEOUT="1")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")


# --- 4. replays ----------------------------------------------------------------------------


async def test_a_repeated_replay_is_refused_by_the_server(server_site):
    me = guest(server_site.http_url)
    room = general_room(server_site.http_url, me["access"])
    async with await ws_open(server_site.ws_url, me["access"]) as ws:
        await send(ws, type="join", room=room, cursor=0)
        await recv(ws, "joined")
        refused = 0
        for _ in range(5):
            await send(ws, type="sync", room=room, cursor=0)
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            while frame["type"] not in {"error", "joined"}:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            refused += frame["type"] == "error" and frame["code"] == "rate_limited"
        assert refused == 5


# --- 5. a reader that never reads -------------------------------------------------------------


class RawSocket:
    """A chat.v1 client on a plain socket that sends and never reads (its receive buffer
    small), so what the server writes stays in the server's kernel and process."""

    def __init__(self, port: int, token: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                "GET /ws/chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Protocol: chat.v1, bearer.{token}\r\n"
                "Origin: http://localhost\r\n\r\n"
            ).encode()
        )
        response = b""
        self.sock.settimeout(10)
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)
        assert response.startswith(b"HTTP/1.1 101"), response

    def send(self, **frame: object) -> None:
        payload = json.dumps(frame).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        size = len(payload)
        head = bytes((0x81, 0x80 | size)) if size < 126 else struct.pack("!BBH", 0x81, 0xFE, size)
        self.sock.sendall(head + mask + masked)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send_queue_bytes(port: int) -> int:
    """Bytes the kernel holds unsent on the server's side of its connections (``/proc``)."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                total += int(fields[4].split(":")[0], 16)  # tx_queue
    return total


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
async def test_clients_that_never_read_are_closed_4408_with_memory_bounded(serve, kind):
    """Ten sockets never read; each asks for three replays of ~2 MB. The kernel's share is
    bounded (SO_SNDBUF), so the server's own bound (4 MiB, the default) is reached and they
    are closed with 4408. Left to itself the kernel took ~4 MB per socket and none was."""
    server = serve(kind, CHAT_BODY_MAX="20000")
    me = guest(server.http_url)
    room = general_room(server.http_url, me["access"])
    body = "y" * 20_000
    async with await ws_open(server.ws_url, me["access"]) as ws:
        await send(ws, type="join", room=room)
        await recv(ws, "joined")
        for n in range(100):  # 100 x 20 KB: a replay from 0 is ~2 MB
            await send(ws, type="send", room=room, body=body, client_id=f"big-{n}")
            await recv(ws, "ack")
    before = _rss_kib(server.process.pid)
    readers = []
    for _ in range(10):
        token = guest(server.http_url)["access"]
        reader = await asyncio.to_thread(RawSocket, server.port, token)
        reader.send(type="join", room=room)
        for cursor in range(3):
            reader.send(type="sync", room=room, cursor=cursor)
        readers.append(reader)
    deadline = time.monotonic() + 20
    while server.log.read_text().count("ws slow reader") < 10 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)  # a bounded poll of the server's log
    held = _send_queue_bytes(server.port)
    grown = _rss_kib(server.process.pid) - before
    closed = server.log.read_text().count("ws slow reader")
    for reader in readers:
        reader.sock.close()
    assert closed == 10, server.log.read_text()[-3000:]
    assert held < 10 * 1024 * 1024, held  # was ~40 MB for ten
    assert grown < 100 * 1024, grown


# --- 6. the client address ------------------------------------------------------------------


def _mint(server: Server, forwarded: str) -> int:
    request = urllib.request.Request(f"{server.http_url}/api/auth/guest/", method="POST")
    request.add_header("X-Forwarded-For", forwarded)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_forged_forwarded_for_is_not_believed_by_default(serve):
    server = serve("uvicorn", CHAT_GUEST_RATE="3/hour")
    codes = [_mint(server, f"203.0.113.{n}") for n in range(5)]
    assert codes == [201, 201, 201, 429, 429]


def test_behind_a_configured_proxy_the_rightmost_untrusted_address_counts(serve):
    server = serve("uvicorn", CHAT_GUEST_RATE="3/hour", FORWARDED_ALLOW_IPS="127.0.0.1")
    # The client forges the left part; the proxy appended what it saw (198.51.100.7).
    codes = [_mint(server, f"203.0.113.{n}, 198.51.100.7") for n in range(4)]
    assert codes == [201, 201, 201, 429]
    assert _mint(server, "198.51.100.8") == 201  # another client behind the proxy


# --- 9. a huge body --------------------------------------------------------------------------


def test_a_200_mb_body_is_refused_413_json_before_it_is_sent(serve):
    """Under uvicorn (production). Daphne's HTTP (Twisted) buffers a whole body before the
    application sees the request: there nginx's ``client_max_body_size`` is the bound."""
    server = serve("uvicorn")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /api/auth/login/ HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 200000000\r\n\r\n{"
        )
        sock.settimeout(10)
        response = b""
        while b"}" not in response.partition(b"\r\n\r\n")[2]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(body)["code"] == "too_large"
