"""The production stack (make prod-up) under faults: Redis restarted, a worker SIGKILLed."""

import argparse
import asyncio
import json
import shutil
import signal
import ssl
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from ops.stack import Stack
from tests.e2e.resilient import ResilientClient
from tests.servers import free_port, need_binary

KEEP = __import__("os").environ.get("KEEP_STACK") == "1"
CLIENTS = 50
SENDERS = 5
PER_SENDER = 30


@pytest.fixture
def stack(monkeypatch):
    for name in ("nginx", "redis-server", "openssl"):
        need_binary(name, f"/usr/sbin/{name}")
    need_binary("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl")
    monkeypatch.setenv("CHAT_GUEST_RATE", "100000/minute")
    monkeypatch.setenv("CHAT_SEND_RATE", "1000")
    monkeypatch.setenv("CHAT_GUEST_POW_BITS", "0")
    monkeypatch.setenv("CHAT_MAX_CONNECTIONS_PER_ADDRESS", "100000")
    monkeypatch.setenv("CHAT_PRESENCE_TTL", "6")
    monkeypatch.delenv("TEST_DATABASE", raising=False)
    args = argparse.Namespace(
        dir=tempfile.mkdtemp(prefix="chat-stack-"),
        workers=2,
        https_port=free_port(),
        http_port=free_port(),
        pg_port=free_port(),
        redis_port=free_port(),
        worker_port=free_port(),
    )
    # Two consecutive worker ports must be free: pick a base with room after it.
    args.worker_port = _two_free_ports()
    server = Stack(args)
    server.up()
    yield server
    server.down()
    if not KEEP:
        shutil.rmtree(args.dir, ignore_errors=True)


def _two_free_ports() -> int:
    for _ in range(50):
        base = free_port()
        try:
            import socket

            with socket.socket() as probe:
                probe.bind(("127.0.0.1", base + 1))
            return base
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports")


def https_json(
    stack: Stack, method: str, path: str, context: ssl.SSLContext, token: str | None = None
):
    request = urllib.request.Request(f"https://localhost:{stack.https_port}{path}", method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return json.loads(response.read() or b"null")


async def test_every_acknowledged_message_reaches_every_client_once_through_faults(stack):
    context = ssl.create_default_context(cafile=str(stack.dir / "tls/cert.pem"))
    guests = [https_json(stack, "POST", "/api/auth/guest/", context) for _ in range(CLIENTS)]
    rooms = https_json(stack, "GET", "/api/rooms/", context, guests[0]["access"])["results"]
    room = next(r["id"] for r in rooms if r["name"] == "general")
    url = f"wss://localhost:{stack.https_port}/ws/chat/"
    origin = f"https://localhost:{stack.https_port}"
    clients = [
        ResilientClient(url, g["access"], room, ssl_context=context, origin=origin) for g in guests
    ]
    tasks = [asyncio.create_task(client.run()) for client in clients]
    await asyncio.wait_for(asyncio.gather(*(c.joined.wait() for c in clients)), 30)

    async def sender(client: ResilientClient, n: int) -> None:
        for i in range(PER_SENDER):
            await client.send(f"sender {n} message {i}")
            await asyncio.sleep(0.1)

    senders = [asyncio.create_task(sender(clients[n], n)) for n in range(SENDERS)]
    await asyncio.sleep(1.0)
    stack.stop("redis")  # Redis goes away and comes back empty
    await asyncio.sleep(0.5)
    stack.redis()
    await asyncio.sleep(1.0)
    stack.stop("worker-1", signal.SIGKILL)  # a worker dies without a word
    await asyncio.gather(*senders)

    deadline = time.monotonic() + 60
    while any(c.pending for c in clients[:SENDERS]) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert not any(c.pending for c in clients[:SENDERS]), "sends never acknowledged"
    acked = {m["id"]: m for c in clients[:SENDERS] for m in c.acked.values()}
    assert len(acked) == SENDERS * PER_SENDER

    def missing(client: ResilientClient) -> set[int]:
        return set(acked) - set(client.messages)

    while any(missing(c) for c in clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for n, client in enumerate(clients):
        lacks = sorted(acked[i]["seq"] for i in missing(client))
        assert not lacks, (
            f"client {n} lacks seq {lacks}; cursor {client.cursor}, live {client.live}, "
            f"connections {client.connections}, highest seq held "
            f"{max(m['seq'] for m in client.messages.values())}"
        )
        mine = sorted(client.messages.values(), key=lambda m: m["seq"])
        seqs = [m["seq"] for m in mine]
        assert seqs == sorted(set(seqs)), "duplicate or out-of-order seq"
        bodies = [m["body"] for m in mine if m["id"] in acked]
        assert len(bodies) == len(set(bodies)) == len(acked), "a message appears twice"
    # Nothing stored twice: resends after the kill were recognised by client_id.
    history = https_json(
        stack, "GET", f"/api/rooms/{room}/messages/?limit=100", context, guests[0]["access"]
    )
    stored = history["results"]
    while history["has_more"]:
        history = https_json(
            stack,
            "GET",
            f"/api/rooms/{room}/messages/?limit=100&before={stored[0]['seq']}",
            context,
            guests[0]["access"],
        )
        stored = history["results"] + stored
    assert sorted(m["id"] for m in stored) == sorted(acked)
    assert sum(c.connections for c in clients) > CLIENTS  # the killed worker's clients came back

    for client in clients:
        await client.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_images_are_served_by_nginx_after_django_checks_the_signature(stack):
    """The worker answers a signed media URL with headers only (``X-Accel-Redirect``);
    nginx sends the file from its internal location, which no client can reach."""
    from tests.images import samples
    from tests.images.multipart import multipart

    context = ssl.create_default_context(cafile=str(stack.dir / "tls/cert.pem"))
    base = f"https://localhost:{stack.https_port}"
    token = https_json(stack, "POST", "/api/auth/guest/", context)["access"]
    rooms = https_json(stack, "GET", "/api/rooms/", context, token)["results"]
    room = next(r["id"] for r in rooms if r["name"] == "general")
    body, content_type = multipart("file", "tent.jpg", samples.jpeg(gps=True), "image/jpeg")
    request = urllib.request.Request(
        f"{base}/api/rooms/{room}/attachments/", data=body, method="POST"
    )
    request.add_header("Content-Type", content_type)
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, context=context, timeout=20) as response:
        attachment = json.loads(response.read())
    with urllib.request.urlopen(base + attachment["url"], context=context, timeout=10) as served:
        data = served.read()
        assert data[:3] == b"\xff\xd8\xff" and len(data) == attachment["bytes"]
        assert served.headers["Content-Type"] == "image/jpeg"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Content-Disposition"] == "inline"
        assert served.headers["Cache-Control"].startswith("private, max-age=")
    worker = urllib.request.Request(f"http://127.0.0.1:{stack.worker_ports[0]}{attachment['url']}")
    worker.add_header("X-Forwarded-Proto", "https")  # as nginx says it
    with urllib.request.urlopen(worker, timeout=10) as direct:
        name = attachment["url"].split("?")[0].removeprefix("/media/")
        assert direct.headers["X-Accel-Redirect"] == f"/_media/{name}"
        assert direct.read() == b""  # the worker never sent the bytes
    # nginx's internal location answers no client (404); an altered signature is Django's 403.
    for path, code in ((f"/_media/{name}", 404), (attachment["url"].replace("s=", "s=x"), 403)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + path, context=context, timeout=10)
        assert refused.value.code == code, path
    # Uploads went to the upload worker: without it they fail, and the rest works on.
    stack.stop("uploads-0")
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(request, context=context, timeout=20)
    assert gone.value.code == 502
    assert https_json(stack, "GET", "/api/rooms/", context, token)["results"]
