"""A connection's bounded outgoing queue, drained by its own writer task.

Writing to a socket whose reader stopped reading can block (uvicorn) or pile up in the
server's buffer (Daphne/Twisted). Either way the room must not wait and memory must not
grow: frames queue here, and once what is queued — plus, under Daphne, what Twisted still
holds unsent — passes the bound, ``on_overflow`` is called (the consumer closes with 4408 and
the client resumes by cursor).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from messaging.servers import closer, direct_writer, transport_backlog_probe

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Outbox:
    def __init__(self, send: Send, *, max_bytes: int, on_overflow: Callable[[], None]) -> None:
        self._send = send
        self._max_bytes = max_bytes
        self._on_overflow = on_overflow
        self._queue: deque[dict[str, Any]] = deque()
        self._queued_bytes = 0
        self._wake: asyncio.Future[None] | None = None
        self._closed = False
        self._backlog = transport_backlog_probe(send)
        self._close = closer(send)
        self._direct = direct_writer(send)
        self._writing = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    def put(self, text: str, data: bytes | None = None) -> None:
        """Queue ``text`` (``data``: the same, already UTF-8 encoded, if the caller has it)."""
        if self._closed:
            return
        self._queued_bytes += len(text)
        if self._queued_bytes > self._max_bytes or (
            self._backlog is not None and self._backlog() > self._max_bytes
        ):
            self._overflow()
            return
        if self._direct is not None and not self._queue and not self._writing:
            # Nothing ahead of it: write now, in order, without waking the writer task.
            self._queued_bytes -= len(text)
            self._direct(data if data is not None else text.encode())
            return
        self._queue.append({"type": "websocket.send", "text": text})
        self._poke()

    def close(self, code: int) -> None:
        """Send what is queued, then close with ``code``."""
        if self._closed:
            return
        self._closed = True
        self._queue.append({"type": "websocket.close", "code": code})
        self._poke()

    def _overflow(self) -> None:
        self._closed = True
        self._queue.clear()
        self._queued_bytes = 0
        self._task.cancel()
        self._on_overflow()

    def _poke(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._queue:
                message = self._queue.popleft()
                if message["type"] == "websocket.close":
                    await self._close(message["code"])
                    return
                self._queued_bytes -= len(message["text"])
                self._writing = True
                try:
                    await self._send(message)
                finally:
                    self._writing = False
            self._wake = loop.create_future()
            await self._wake
            self._wake = None

    async def aclose(self) -> None:
        self._closed = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
