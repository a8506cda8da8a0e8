"""Hostile clients against one uvicorn process (issue 17), measured once, small scale.

``python -m bench.hostile [--root DIR] [--half-open 1000] [--readers 100]``

``--root`` runs the server from another checkout (the code before the fixes, for the
before/after). Three measurements, printed as JSON:

- ``/healthz`` and send→ack latency (p50, p99) while four clients log in in a loop;
- half-open connections (half a request line sent) still open after 15 s;
- the server's RSS and kernel send queue with ``--readers`` sockets that never read, after
  three syncs of a ~2 MB room each, and how many were closed 4408.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long pass phrase 42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, data: Any = None, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(data).encode() if data is not None else None, method=method
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


class Server:
    def __init__(self, root: Path, **extra: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="hostile-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE"}
        env.update(
            SECRET_KEY=secrets.token_urlsafe(40),
            SQLITE_PATH=str(self.tmp / "db.sqlite3"),
            ALLOWED_HOSTS="localhost,127.0.0.1",
            CHAT_GUEST_RATE="100000/minute",
            CHAT_SEND_RATE="100000",
            CHAT_LOGIN_FAILURES="100000",
            CHAT_GUEST_POW_BITS="0",  # the puzzle (issue 11) is not what this measures
            CHAT_BODY_MAX="20000",
            PYTHONUNBUFFERED="1",
            **extra,
        )
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True)
        self.log = self.tmp / "server.log"
        self.process = subprocess.Popen(
            [python, "-m", "chatsite.serve", "--port", str(self.port)],
            cwd=root,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def send_queue(self) -> int:
        total = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == self.port:
                    total += int(fields[4].split(":")[0], 16)
        return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def login_storm(root: Path) -> dict[str, Any]:
    server = Server(root)
    try:
        _, me = http("POST", f"{server.url}/api/auth/guest/")
        http(
            "POST",
            f"{server.url}/api/auth/claim/",
            {"username": "hammered", "password": PASSWORD},
            me["access"],
        )
        _, rooms = http("GET", f"{server.url}/api/rooms/", token=me["access"])
        room = rooms["results"][0]["id"]

        async def sample(n: int) -> tuple[list[float], list[float]]:
            health, acks = [], []
            async with connect(
                f"ws://127.0.0.1:{server.port}/ws/chat/",
                subprotocols=["chat.v1", f"bearer.{me['access']}"],  # type: ignore[list-item]
                origin="http://localhost",  # type: ignore[arg-type]
            ) as ws:
                await ws.send(json.dumps({"type": "join", "room": room}))
                while json.loads(await ws.recv())["type"] != "joined":
                    pass
                for i in range(n):
                    started = time.perf_counter()
                    await asyncio.to_thread(http, "GET", f"{server.url}/healthz")
                    health.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    cid = secrets.token_hex(6)
                    await ws.send(
                        json.dumps(
                            {"type": "send", "room": room, "body": f"m{i}", "client_id": cid}
                        )
                    )
                    while json.loads(await ws.recv())["type"] != "ack":
                        pass
                    acks.append(time.perf_counter() - started)
            return health, acks

        idle_health, idle_acks = await sample(30)
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                http(
                    "POST",
                    f"{server.url}/api/auth/login/",
                    {"username": "hammered", "password": PASSWORD},
                )

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()
        await asyncio.sleep(2)
        health, acks = await sample(30)
        stop.set()
        for thread in threads:
            thread.join(60)
        return {
            "idle_healthz_ms": {"p50": pct(idle_health, 0.5), "p99": pct(idle_health, 0.99)},
            "idle_ack_ms": {"p50": pct(idle_acks, 0.5), "p99": pct(idle_acks, 0.99)},
            "storm_healthz_ms": {"p50": pct(health, 0.5), "p99": pct(health, 0.99)},
            "storm_ack_ms": {"p50": pct(acks, 0.5), "p99": pct(acks, 0.99)},
            "samples": len(health),
        }
    finally:
        server.stop()


def half_open(root: Path, count: int) -> dict[str, Any]:
    server = Server(root)
    try:
        sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(b"GET /healthz HT")
            sockets.append(sock)
        time.sleep(15)
        still = 0
        for sock in sockets:
            sock.setblocking(False)
            try:
                still += sock.recv(1) != b""
            except BlockingIOError:
                still += 1
            except ConnectionResetError:
                pass
            sock.close()
        return {"opened": count, "open_after_15s": still}
    finally:
        server.stop()


def raw_reader(port: int, token: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /ws/chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Protocol: chat.v1, bearer.{token}\r\nOrigin: http://localhost\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    return sock


def ws_send(sock: socket.socket, frame: dict[str, Any]) -> None:
    payload = json.dumps(frame).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes((0x81, 0x80 | len(payload))) + mask + masked)


async def non_readers(root: Path, count: int) -> dict[str, Any]:
    server = Server(root)
    try:
        _, me = http("POST", f"{server.url}/api/auth/guest/")
        _, rooms = http("GET", f"{server.url}/api/rooms/", token=me["access"])
        room = rooms["results"][0]["id"]
        async with connect(
            f"ws://127.0.0.1:{server.port}/ws/chat/",
            subprotocols=["chat.v1", f"bearer.{me['access']}"],  # type: ignore[list-item]
            origin="http://localhost",  # type: ignore[arg-type]
        ) as ws:
            await ws.send(json.dumps({"type": "join", "room": room}))
            for n in range(100):
                await ws.send(
                    json.dumps(
                        {"type": "send", "room": room, "body": "y" * 20000, "client_id": f"b{n}"}
                    )
                )
                while json.loads(await ws.recv())["type"] != "ack":
                    pass
        before = server.rss_kib()
        readers = []
        for _ in range(count):
            _, who = http("POST", f"{server.url}/api/auth/guest/")
            sock = raw_reader(server.port, who["access"])
            ws_send(sock, {"type": "join", "room": room})
            for cursor in range(3):
                ws_send(sock, {"type": "sync", "room": room, "cursor": cursor})
            readers.append(sock)
        await asyncio.sleep(10)
        result = {
            "readers": count,
            "rss_before_mib": round(before / 1024, 1),
            "rss_after_mib": round(server.rss_kib() / 1024, 1),
            "kernel_send_queue_mib": round(server.send_queue() / 2**20, 1),
            "closed_4408": server.log.read_text().count("ws slow reader"),
        }
        for sock in readers:
            sock.close()
        return result
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--half-open", type=int, default=1000)
    parser.add_argument("--readers", type=int, default=100)
    args = parser.parse_args()
    result = {
        "root": str(args.root),
        "login_storm": asyncio.run(login_storm(args.root)),
        "half_open": half_open(args.root, args.half_open),
        "non_readers": asyncio.run(non_readers(args.root, args.readers)),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
