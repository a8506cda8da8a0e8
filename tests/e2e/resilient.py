"""A chat.v1 client that follows the client rules of PROTOCOL.md: reconnect with backoff
and jitter, rejoin with its cursor, resend unacknowledged sends with their client_id,
apply a message only if its rev is newer, and sync on a rev gap."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
import uuid
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus


class ResilientClient:
    def __init__(
        self,
        ws_url: str,
        access: str,
        room: int,
        *,
        ssl_context: ssl.SSLContext | None,
        origin: str,
    ) -> None:
        self.ws_url, self.access, self.room = ws_url, access, room
        self.ssl, self.origin = ssl_context, origin
        self.messages: dict[int, dict[str, Any]] = {}
        self.cursor: int | None = None
        self.live = False
        self.pending: dict[str, dict[str, Any]] = {}
        self.acked: dict[str, dict[str, Any]] = {}
        self.joined = asyncio.Event()
        self.connections = 0
        self.ws = None
        self._stop = False

    async def run(self) -> None:
        attempt = 0
        while not self._stop:
            try:
                async with connect(
                    self.ws_url,
                    ssl=self.ssl,
                    origin=self.origin,
                    open_timeout=5,
                    subprotocols=["chat.v1", f"bearer.{self.access}"],
                ) as ws:
                    self.ws, attempt = ws, 0
                    self.connections += 1
                    join = {"type": "join", "room": self.room, "ref": "join"}
                    if self.cursor is not None:
                        join["cursor"] = self.cursor
                    self.live = False
                    await ws.send(json.dumps(join))
                    for frame in list(self.pending.values()):
                        await ws.send(json.dumps(frame))
                    async for raw in ws:
                        await self.handle(json.loads(raw))
            except (ConnectionClosed, InvalidHandshake, InvalidStatus, OSError, TimeoutError):
                pass
            self.ws = None
            if self._stop:
                return
            attempt += 1
            base = min(2.0, 0.05 * 2**attempt)
            await asyncio.sleep(base / 2 + random.random() * base / 2)

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "message":
            message = frame["message"]
            held = self.messages.get(message["id"])
            if held is None or message["rev"] > held["rev"]:
                self.messages[message["id"]] = message
            # The cursor moves only along an unbroken stream: in-order live frames, or a
            # replay once its `joined` arrives. Frames seen meanwhile are kept, not counted,
            # so a socket lost mid-replay rejoins from before the hole.
            if not self.live or self.cursor is None:
                return
            if message["rev"] > self.cursor + 1:
                self.live = False
                await self.raw(
                    {"type": "sync", "room": self.room, "cursor": self.cursor, "ref": "sync"}
                )
                return
            self.cursor = max(self.cursor, message["rev"])
        elif kind == "ack":
            self.pending.pop(frame["client_id"], None)
            self.acked[frame["client_id"]] = frame["message"]
            self.messages.setdefault(frame["message"]["id"], frame["message"])
        elif kind == "joined":
            self.cursor = max(self.cursor or 0, frame["cursor"])
            self.live = True
            self.joined.set()
        elif kind == "error" and frame.get("code") in {"rate_limited", "unavailable"}:
            asyncio.get_running_loop().call_later(
                frame.get("retry_after", 1),
                lambda: asyncio.ensure_future(self.retry(frame.get("ref"))),
            )

    async def retry(self, ref: str | None) -> None:
        if ref in self.pending:
            await self.raw(self.pending[ref])
        elif ref in {"join", "sync"} and not self.live:  # the replay was refused: ask again
            frame = {"type": ref, "room": self.room, "ref": ref}
            if self.cursor is not None:
                frame["cursor"] = self.cursor
            await self.raw(frame)

    async def raw(self, frame: dict[str, Any]) -> None:
        if self.ws is not None:
            with contextlib.suppress(ConnectionClosed):  # the reconnect resends pending sends
                await self.ws.send(json.dumps(frame))

    async def send(self, body: str) -> str:
        client_id = uuid.uuid4().hex
        frame = {
            "type": "send",
            "room": self.room,
            "body": body,
            "client_id": client_id,
            "ref": client_id,
        }
        self.pending[client_id] = frame
        await self.raw(frame)
        return client_id

    async def stop(self) -> None:
        self._stop = True
        if self.ws is not None:
            await self.ws.close()
