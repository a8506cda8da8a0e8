"""Helpers for tests against real server processes: env, HTTP, chat.v1 over websockets."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import jwt
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from tests.servers import ROOT


def site_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "SQLITE_PATH": str(tmp / "db.sqlite3"),
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "CHAT_GUEST_RATE": "100000/minute",
        "CHAT_SEND_RATE": "100000",
        # The guest puzzle is the subject of its own tests; elsewhere guests mint freely.
        "CHAT_GUEST_POW_BITS": "0",
        "CHAT_MAX_CONNECTIONS_PER_ADDRESS": "100000",
        "CHAT_NEW_GUEST_LINK_DELAY": "0",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("TEST_DATABASE", None)
    return env


def migrate(env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE"}
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def http(method: str, url: str, data: Any = None, token: str | None = None) -> tuple[int, Any]:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def guest(base_url: str) -> dict[str, Any]:
    status, body = http("POST", f"{base_url}/api/auth/guest/")
    assert status == 201, body
    return body


def general_room(base_url: str, token: str) -> int:
    _, body = http("GET", f"{base_url}/api/rooms/", token=token)
    return next(r["id"] for r in body["results"] if r["name"] == "general")


def expired_token(secret: str, user_id: int) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "token_type": "access",
            "exp": now - 120,
            "iat": now - 1000,
            "jti": uuid.uuid4().hex,
            "user_id": str(user_id),
        },
        secret,
        algorithm="HS256",
    )


async def ws_open(
    url: str, token: str, *, origin: str = "http://localhost", **kwargs: Any
) -> ClientConnection:
    return await connect(
        url,
        subprotocols=[Subprotocol("chat.v1"), Subprotocol(f"bearer.{token}")],
        origin=Origin(origin),
        **kwargs,
    )


async def recv(ws: ClientConnection, kind: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
    """The next frame of ``kind`` matching ``match``; other frames are passed over."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no {kind!r} {match} within {timeout} s")
        frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame


async def recv_message(ws: ClientConnection, body: str, timeout: float = 5) -> dict[str, Any]:
    """The next ``message`` frame whose message has ``body``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = max(deadline - asyncio.get_running_loop().time(), 0.001)
        frame = await recv(ws, "message", timeout=left)
        if frame["message"]["body"] == body:
            return frame["message"]


async def send(ws: ClientConnection, **frame: Any) -> None:
    await ws.send(json.dumps(frame))
