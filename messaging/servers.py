"""What the consumer reaches into its ASGI server for, where ASGI has no word for it.

Daphne hands an application ``partial(server.handle_reply, protocol)`` as ``send``; the
protocol is an autobahn ``WebSocketServerProtocol`` on a Twisted transport. Two things
are only possible there:

- *Frame size.* Autobahn refuses to send close code 1009 on the application's behalf
  (it allows 1000 and 3000-4999 only), but enforces its own payload limits with 1009 —
  before a huge frame is even buffered. So the limit is set on the protocol.
- *Backlog.* Twisted accepts every write and buffers it; what is still unsent tells
  whether the client stopped reading (``messaging.outbox``).

Under other servers (uvicorn) both functions do nothing: those servers close with 1009
themselves and apply backpressure by making ``send`` wait.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)


def daphne_protocol(send: Any) -> Any | None:
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    return protocol if hasattr(protocol, "maxMessagePayloadSize") else None


def limit_frame_size(send: Any, max_bytes: int) -> None:
    """Let the server itself close with 1009 on a message over ``max_bytes``."""
    protocol = daphne_protocol(send)
    if protocol is not None:
        protocol.maxMessagePayloadSize = max_bytes
        protocol.maxFramePayloadSize = max_bytes
        # Say why in a close frame (1009) rather than dropping the TCP connection silently.
        protocol.failByDrop = False


def closer(send: Any) -> Callable[[int], Awaitable[None]]:
    """A function that closes the socket with any legal code.

    Daphne passes an application's close to autobahn's ``sendClose``, which refuses codes
    other than 1000 and 3000-4999 (so 1001 "going away" would never leave); its
    ``sendCloseFrame`` takes any code, so under Daphne the frame is sent that way.
    """
    protocol = daphne_protocol(send)
    if protocol is None:

        async def close(code: int) -> None:
            await send({"type": "websocket.close", "code": code})

        return close

    async def close_daphne(code: int) -> None:
        protocol.sendCloseFrame(code=code, isReply=False)

    return close_daphne


def direct_writer(send: Any) -> Callable[[bytes], bool] | None:
    """Under Daphne: a function writing an already-encoded text frame at once, or None.

    The ASGI path costs a task switch, an awaited wrapper and a UTF-8 encode per receiver;
    a broadcast to 500 sockets pays that 500 times. autobahn's ``sendMessage`` takes the
    bytes the hub encoded once. Returns False when the socket is no longer open.
    """
    protocol = daphne_protocol(send)
    if protocol is None:
        return None
    is_open = protocol.STATE_OPEN

    def write(data: bytes) -> bool:
        if protocol.state != is_open:
            return False
        protocol.sendMessage(data, False)
        return True

    return write


def transport_backlog_probe(send: Any) -> Callable[[], int] | None:
    """Bytes Daphne accepted for this socket but Twisted has not yet written, if visible.

    Twisted keeps unsent bytes in ``dataBuffer`` (from ``offset``) and in
    ``_tempDataBuffer`` (``_tempDataLen`` long).
    """
    if not isinstance(send, functools.partial) or not send.args:
        return None
    transport = getattr(send.args[0], "transport", None)
    if transport is None or not hasattr(transport, "_tempDataLen"):
        return None

    def backlog() -> int:
        buffered = len(getattr(transport, "dataBuffer", b"")) - getattr(transport, "offset", 0)
        return buffered + transport._tempDataLen

    return backlog


CLOSE_GOING_AWAY = 1001
DRAIN_SECONDS = 5.0


def install_graceful_shutdown(hub: Any) -> None:
    """Under Daphne: on SIGTERM close every socket with 1001, so clients reconnect to another
    process at once, and stop once they are closed (or after DRAIN_SECONDS).

    Twisted's own handler would stop the reactor and cut connections without a close frame.
    (uvicorn needs none of this: it closes sockets itself on shutdown.)
    """
    if "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import reactor

    if not reactor.running:
        return
    loop = asyncio.get_running_loop()

    async def drain_and_stop() -> None:
        hub.draining = True
        log.info("SIGTERM: closing %s connection(s) with 1001", len(hub.connections))
        for conn in list(hub.connections):
            conn.close_soon(CLOSE_GOING_AWAY)
        deadline = loop.time() + DRAIN_SECONDS
        while hub.connections and loop.time() < deadline:  # noqa: ASYNC110 - a deadline poll
            await asyncio.sleep(0.05)
        reactor.stop()

    tasks: list[asyncio.Task[None]] = []

    def on_term() -> None:
        tasks.append(loop.create_task(drain_and_stop()))

    try:
        loop.add_signal_handler(signal.SIGTERM, on_term)
    except (NotImplementedError, RuntimeError):  # not the main thread: leave Twisted's
        return


_gc_tuned = False


def tune_gc() -> None:
    """Make full garbage collections rare in a server process (once per process).

    A process holding hundreds of sockets has a large heap of long-lived objects, and every
    full collection walks all of it: measured here, those pauses put the fan-out p99 over
    100 ms at 1,000 deliveries/s. ``gc.freeze()`` moves what start-up made out of the
    collector's sight, and larger thresholds make gen-2 passes rare (cycles are still
    collected). CHAT_GC_TUNING=0 turns this off.
    """
    global _gc_tuned
    if _gc_tuned or not settings.CHAT["GC_TUNING"]:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)
