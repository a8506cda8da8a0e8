"""A push service on loopback, for tests: what FCM or Mozilla's autopush do, in small.

It checks each request's VAPID ``Authorization`` (RFC 8292: an ES256 JWT for this origin,
signed by the key in ``k``), decrypts the ``aes128gcm`` body (RFC 8291) with the
subscription's private key, and records it. Per subscription it can answer 410 once (a
dead subscription), fail with 500, or hold the request until released — and then tell
whether the sender was still there to get the answer (a worker killed meanwhile is not).
"""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's push subscription: its keys, as ``PushManager.subscribe`` makes them."""

    name: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, base_url: str) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {
            "endpoint": f"{base_url}/push/{self.name}",
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }


@dataclass
class Received:
    name: str
    payload: dict[str, Any]
    headers: dict[str, str]
    answered: int
    completed: bool | None  # False: the sender was gone when the answer went out (killed)


class PushService:
    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.gone_once: set[str] = set()
        self.gone_status = 410  # what gone_once answers (a push service may say 404)
        self.fail: dict[str, int] = {}
        self.hold: set[str] = set()
        self.held = threading.Event()  # a held request has arrived
        self.release = threading.Event()
        self.changed = threading.Condition()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                service.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def browser(self, name: str) -> Browser:
        browser = self.browsers[name] = Browser(name)
        return browser

    def __enter__(self) -> PushService:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # --- the handler ----------------------------------------------------------------------

    def check_vapid(self, header: str) -> None:
        assert header.startswith("vapid "), header
        parts = dict(p.strip().split("=", 1) for p in header[len("vapid ") :].split(","))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        claims = jwt.decode(parts["t"], public, algorithms=["ES256"], audience=self.base_url)
        assert claims["sub"].startswith(("mailto:", "https:")), claims

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        name = request.path.rsplit("/", 1)[-1]
        body = request.rfile.read(int(request.headers["Content-Length"]))
        try:
            self.check_vapid(request.headers.get("Authorization", ""))
            assert request.headers["Content-Encoding"] == "aes128gcm"
            browser = self.browsers[name]
            plain = http_ece.decrypt(
                body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
            )
            payload = json.loads(plain)
        except Exception as exc:  # a malformed push is a test failure, reported by the test
            self.errors.append(f"{name}: {exc!r}")
            self.answer(request, 400)
            return
        status = 201
        if name in self.gone_once:
            self.gone_once.discard(name)
            status = self.gone_status
        elif self.fail.get(name, 0) > 0:
            self.fail[name] -= 1
            status = 500
        elif name in self.hold:
            self.hold.discard(name)
            self.held.set()
            self.release.wait(60)
        # Recorded before the answer: the sender may look as soon as it has it.
        record = Received(
            name, payload, {k.lower(): v for k, v in request.headers.items()}, status, None
        )
        with self.changed:
            self.received.append(record)
        record.completed = self.answer(request, status)
        with self.changed:
            self.changed.notify_all()

    @staticmethod
    def answer(request: BaseHTTPRequestHandler, status: int) -> bool:
        # A sender killed while we held its request has closed the connection: readable,
        # and reading gives EOF. Then nothing was delivered.
        readable, _, _ = select.select([request.connection], [], [], 0)
        if readable:
            try:
                closed = not request.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except ConnectionError:
                closed = True
            if closed:
                request.close_connection = True
                return False
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()
        return True

    # --- for the tests --------------------------------------------------------------------

    def delivered(self, name: str | None = None) -> list[Received]:
        return [
            r
            for r in self.received
            if r.answered == 201 and r.completed is not False and (name is None or r.name == name)
        ]

    def wait(self, predicate: Any, timeout: float = 20) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self), timeout), (
                self.received,
                self.errors,
            )
