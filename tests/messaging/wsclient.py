"""A small test client over ``WebsocketCommunicator`` speaking chat.v1."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from chatsite.asgi import application
from tests.factories import ListingFactory, direct_room

QUIET = {"presence", "typing", "read"}  # frames that arrive on their own schedule


class WsClient:
    def __init__(self, communicator: WebsocketCommunicator, subprotocol: str | None) -> None:
        self.comm = communicator
        self.subprotocol = subprotocol
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls,
        token: str | None,
        *,
        origin: bytes | None = b"http://localhost",
        subprotocols: list[str] | None = None,
        header_token: bool = False,
    ) -> tuple[WsClient, bool]:
        protocols = subprotocols if subprotocols is not None else ["chat.v1"]
        headers = [(b"origin", origin)] if origin else []
        if token and header_token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        elif token:
            protocols = [*protocols, f"bearer.{token}"]
        comm = WebsocketCommunicator(
            application, "/ws/chat/", headers=headers, subprotocols=protocols
        )
        connected, subprotocol = await comm.connect(timeout=5)
        return cls(comm, subprotocol if connected else None), connected

    async def send(self, **frame: Any) -> None:
        await self.comm.send_to(text_data=json.dumps(frame))

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        raw = await self.comm.receive_output(timeout)
        if raw["type"] == "websocket.close":
            frame = {"type": "__close__", "code": raw.get("code", 1000)}
        else:
            frame = json.loads(raw["text"])
        self.seen.append(frame)
        return frame

    async def expect(
        self, kind: str, timeout: float = 3, skip: tuple[str, ...] = (), **match: Any
    ) -> dict[str, Any]:
        """The next frame of ``kind`` (matching ``match``), passing over quiet frames and
        the kinds in ``skip``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {kind!r} frame within {timeout} s; saw {self.seen[-5:]}")
            frame = await self.recv(left)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            if frame["type"] not in QUIET and frame["type"] not in skip:
                raise AssertionError(f"expected {kind!r} {match or ''}, got {frame}")

    async def closed_with(self, timeout: float = 3) -> int:
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == "__close__":
                return frame["code"]
            if frame["type"] not in QUIET:
                raise AssertionError(f"expected a close, got {frame}")

    async def nothing_but_quiet(self, seconds: float = 0.3) -> None:
        """Assert that no frame other than presence/typing/read arrives for ``seconds``: a
        bounded wait for nothing to happen, not a wait for something.

        (``receive_output`` timing out would cancel the application, so poll instead.)
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            if await self.comm.receive_nothing(timeout=min(0.05, left)):
                continue
            frame = await self.recv()
            assert frame["type"] in QUIET, f"unexpected {frame}"

    async def join(self, room: int, **extra: Any) -> dict[str, Any]:
        await self.send(type="join", room=room, **extra)
        return await self.expect("joined", room=room)

    async def close(self) -> None:
        await self.comm.disconnect()


async def connect(user: Any, **kwargs: Any) -> WsClient:
    """A socket of ``user`` (holding ``.access``), open with chat.v1 selected."""
    client, connected = await WsClient.open(user.access, **kwargs)
    assert connected and client.subprotocol == "chat.v1"
    return client


@database_sync_to_async
def make_direct(owner: Any, borrower: Any) -> Any:
    return direct_room(listing=ListingFactory(owner=owner), borrower=borrower)


def token_expiring(user: Any, *, seconds: float) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=datetime.now(tz=UTC), lifetime=timedelta(seconds=seconds))
    return str(token)
