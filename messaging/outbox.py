"""A connection's bounded outgoing queue.

Writing to a socket whose reader stopped reading piles up in the server's buffer (or, over
plain ASGI, blocks). Either way the room must not wait and memory must not grow. Under the
servers ``messaging.servers`` knows (Daphne, uvicorn), frames are written to the transport
at once and its unsent backlog is watched; elsewhere they queue here for a writer task
(started only while there is something to write). Once what is queued or unsent passes the
bound, ``on_overflow`` is called (the consumer closes with 4408 and the client resumes by
cursor).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from messaging.servers import closer, direct_writer, text_frame, transport_backlog_probe

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Outbox:
    def __init__(self, send: Send, *, max_bytes: int, on_overflow: Callable[[], None]) -> None:
        self._send = send
        self._max_bytes = max_bytes
        self._on_overflow = on_overflow
        self._queue: deque[dict[str, Any]] = deque()
        self._queued_bytes = 0
        self._closed = False
        self._backlog = transport_backlog_probe(send)
        self._close = closer(send)
        self._direct = direct_writer(send)
        self._task: asyncio.Task[None] | None = None  # the writer, while there is work

    def put(self, text: str, frame: bytes | None = None) -> None:
        """Send ``text`` (``frame``: the same, already framed by ``text_frame``, if the
        caller has it — a broadcast frames once for all its receivers)."""
        if self._closed:
            return
        self._queued_bytes += len(text)
        if self._queued_bytes > self._max_bytes or (
            self._backlog is not None and self._backlog() > self._max_bytes
        ):
            self._overflow()
            return
        if self._direct is not None:
            # Written now, without a writer task. Nothing can be queued ahead of it: under a
            # direct writer only ``close`` queues, and nothing is put after a close.
            self._queued_bytes -= len(text)
            self._direct(frame if frame is not None else text_frame(text.encode()))
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
        if self._task is not None:
            self._task.cancel()
        self._on_overflow()

    def _poke(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        """Drain the queue, then end (the next ``_poke`` starts another writer)."""
        while self._queue:
            message = self._queue.popleft()
            if message["type"] == "websocket.close":
                await self._close(message["code"])
                return
            self._queued_bytes -= len(message["text"])
            await self._send(message)

    async def aclose(self) -> None:
        self._closed = True
        # The session's callback refers back to the session that holds this outbox: let go
        # of it, so a closed socket's objects are freed as soon as nothing refers to them,
        # not by a full collection (messaging.servers.GcKeeper freezes them).
        self._on_overflow = _nothing
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _nothing() -> None:
    pass
