"""A lean chat.v1 WebSocket client for load generation.

The generator must not be the ceiling it measures. A ``websockets`` client costs ~20 µs per
received frame (its parser, a queue, a task switch), which caps one generator core near
50,000 frames/s — below what the servers here reach. This client is an ``asyncio.Protocol``
that parses server frames (unmasked, RFC 6455) in ``data_received`` and hands each decoded
JSON frame to a callback, with no task switch: a few µs per frame.

It speaks only what the benchmark needs: the opening handshake with the ``chat.v1`` and
``bearer.<token>`` subprotocols, text frames both ways, ping → pong, and close. Client
frames are masked with a zero key (valid: the key is sent in the frame, and servers apply
whatever key they are given); a browser would pick a random one.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson

Frame = dict[str, Any]
ZERO_MASK = b"\x00\x00\x00\x00"
OPEN_TIMEOUT = 30.0


class HandshakeFailed(Exception):
    pass


class ChatSocket(asyncio.Protocol):
    """One connection. ``on_frame`` is called with every decoded server frame."""

    def __init__(self, on_frame: Callable[[Frame], None] | None = None) -> None:
        self.on_frame = on_frame or (lambda frame: None)
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._buffer = b""
        self._handshaking = True
        self._waiters: list[tuple[Callable[[Frame], bool], asyncio.Future[Frame]]] = []

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        if self._handshaking:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._buffer = buffer
                return
            status = buffer[: buffer.find(b"\r\n")]
            if b" 101 " not in status + b" ":
                self._fail(HandshakeFailed(status.decode(errors="replace")))
                return
            self._handshaking = False
            buffer = buffer[end + 4 :]
            if not self.opened.done():
                self.opened.set_result(None)
        offset, size = 0, len(buffer)
        while size - offset >= 2:
            opcode, length = buffer[offset] & 0x0F, buffer[offset + 1] & 0x7F
            start = offset + 2
            if length == 126:
                if size - start < 2:
                    break
                (length,) = struct.unpack_from("!H", buffer, start)
                start += 2
            elif length == 127:
                if size - start < 8:
                    break
                (length,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            if size - start < length:
                break
            payload = buffer[start : start + length]
            offset = start + length
            if opcode == 1:
                self._frame(orjson.loads(payload))
            elif opcode == 8:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                self._write_frame(0x88, payload[:2])
                self._finish(code)
                return
            elif opcode == 9:
                self._write_frame(0x8A, payload)
        self._buffer = buffer[offset:] if offset < size else b""

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(1006)

    # --- use ------------------------------------------------------------------------------

    def send(self, frame: Frame) -> None:
        self._write_frame(0x81, orjson.dumps(frame))

    def wait_for(self, match: Callable[[Frame], bool]) -> asyncio.Future[Frame]:
        """A future for the next frame ``match`` accepts (also still given to on_frame)."""
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._waiters.append((match, future))
        return future

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._write_frame(0x88, struct.pack("!H", 1000))
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- inside -------------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        if self._waiters:
            for waiter in list(self._waiters):
                match, future = waiter
                if future.done():
                    self._waiters.remove(waiter)
                elif match(frame):
                    self._waiters.remove(waiter)
                    future.set_result(frame)
        self.on_frame(frame)

    def _write_frame(self, first: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        size = len(payload)
        if size < 126:
            header = bytes((first, 0x80 | size))
        elif size < 1 << 16:
            header = struct.pack("!BBH", first, 0xFE, size)
        else:
            header = struct.pack("!BBQ", first, 0xFF, size)
        self.transport.write(header + ZERO_MASK + payload)

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def _finish(self, code: int) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeFailed(f"closed {code} before opening"))
        if not self.closed.done():
            self.closed.set_result(code)
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(ConnectionError(f"closed {code}"))
        self._waiters.clear()
        if self.transport is not None:
            self.transport.close()


async def open_socket(
    url: str, token: str, on_frame: Callable[[Frame], None] | None = None
) -> ChatSocket:
    """Connect to ``url`` (``ws://host:port/path``) as the holder of ``token``."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, sock = await asyncio.wait_for(
        loop.create_connection(lambda: ChatSocket(on_frame), parts.hostname, parts.port),
        OPEN_TIMEOUT,
    )
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\n"
        f"Host: {parts.hostname}:{parts.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: chat.v1, bearer.{token}\r\n"
        f"Origin: http://{parts.hostname}\r\n\r\n"
    )
    assert sock.transport is not None
    sock.transport.write(request.encode())
    try:
        await asyncio.wait_for(asyncio.shield(sock.opened), OPEN_TIMEOUT)
    except BaseException:
        sock.abort()
        raise
    return sock


async def join(sock: ChatSocket, room: int, cursor: int | None = None) -> Frame:
    """Join ``room`` (from ``cursor``, if given); the ``joined`` frame."""
    joined = sock.wait_for(lambda f: f["type"] == "joined" and f["room"] == room)
    frame: Frame = {"type": "join", "room": room}
    if cursor is not None:
        frame["cursor"] = cursor
    sock.send(frame)
    return await joined
