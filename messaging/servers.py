"""What the consumer reaches into its ASGI server for, where ASGI has no word for it.

Two servers are supported. Daphne (``runserver``, ``make run``) hands an application
``partial(server.handle_reply, protocol)`` as ``send``, the protocol being an autobahn
``WebSocketServerProtocol`` on a Twisted transport. uvicorn (production, ``chatsite.serve``)
with its ``websockets-sansio`` protocol hands the bound method ``protocol.send``, the
protocol owning an asyncio transport. Under both:

- *Direct writes.* A broadcast frame is the same bytes for every receiver (server frames
  are not masked), so the hub frames it once (``text_frame``) and each connection writes
  those bytes to its transport: no ASGI message, no task switch, no per-receiver framing.
  Under Daphne the bytes go to the socket at once when Twisted holds nothing unsent (as
  asyncio's transports do), not through Twisted's buffer and a writer registration.
- *Backlog.* The transport buffers every write; what is still unsent tells whether the
  client stopped reading (``messaging.outbox`` closes it with 4408).
- *Kernel buffer.* A client that stops reading fills the kernel's send queue before the
  transport's backlog grows; left to itself the kernel lets that queue grow to megabytes
  per socket, so the backlog bound alone held hundreds of MB. The socket's ``SO_SNDBUF``
  is set small, so what one connection may have unsent is bounded mostly where it is
  counted.
- *Frame size.* The server's own parser enforces the limit and closes with 1009 before a
  huge frame is buffered (autobahn refuses to send 1009 on the application's behalf).

Under any other server these fall back to plain ASGI (``send`` applies backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
import socket
import struct
import sys
from collections.abc import Awaitable, Callable, Collection
from types import FrameType
from typing import Any, Protocol

from django.conf import settings

from chatsite.foundation import metrics
from chatsite.foundation.codes import Close

log = logging.getLogger(__name__)

UVICORN_WEBSOCKETS = "uvicorn.protocols.websockets.websockets_sansio_impl"


class Closable(Protocol):
    def close_soon(self, code: int) -> None: ...


class Draining(Protocol):
    """What the graceful shutdown needs of the hub (``messaging.hub`` imports this module)."""

    draining: bool

    @property
    def connections(self) -> Collection[Closable]: ...


def text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked, unfragmented text frame (RFC 6455, section 5.2)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def daphne_protocol(send: Any) -> Any | None:
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    return protocol if hasattr(protocol, "maxMessagePayloadSize") else None


def uvicorn_protocol(send: Any) -> Any | None:
    module = sys.modules.get(UVICORN_WEBSOCKETS)
    protocol = getattr(send, "__self__", None)
    if module is None or not isinstance(protocol, module.WebSocketsSansIOProtocol):
        return None
    return protocol


def limit_frame_size(send: Any, max_bytes: int) -> None:
    """Let the server itself close with 1009 on a message over ``max_bytes``."""
    if (protocol := daphne_protocol(send)) is not None:
        protocol.maxMessagePayloadSize = max_bytes
        protocol.maxFramePayloadSize = max_bytes
        # Say why in a close frame (1009) rather than dropping the TCP connection silently.
        protocol.failByDrop = False
    elif (protocol := uvicorn_protocol(send)) is not None:
        protocol.conn.max_message_size = max_bytes  # read by the parser at every frame


def _socket_of(send: Any) -> socket.socket | None:
    if (uvicorn := uvicorn_protocol(send)) is not None:
        sock = uvicorn.transport.get_extra_info("socket")
    elif (daphne := daphne_protocol(send)) is not None:
        transport = getattr(daphne, "transport", None)
        sock = getattr(transport, "socket", None)
    else:
        return None
    return sock if hasattr(sock, "setsockopt") else None


def limit_send_buffer(send: Any, size: int) -> None:
    """Cap the kernel's send buffer of the socket behind ``send`` at ``size`` bytes (the
    kernel doubles it); nothing if ``size`` is 0 or the socket is out of reach."""
    if size <= 0 or (sock := _socket_of(send)) is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except OSError as exc:  # not a TCP socket (a Unix socket behind a proxy, say): leave it
        log.debug("SO_SNDBUF not set: %r", exc)


def closer(send: Any) -> Callable[[int], Awaitable[None]]:
    """A function that closes the socket with any legal code, without waiting on the client.

    Daphne passes an application's close to autobahn's ``sendClose``, which refuses codes
    other than 1000 and 3000-4999 (so 1001 "going away" would never leave); its
    ``sendCloseFrame`` takes any code — as a plain ``int``: autobahn refuses a ``Close``
    (an ``IntEnum``) by its exact type, so every path here passes ``int(code)``. uvicorn's
    ``send`` first waits until the transport is writable, which never happens for a client
    that stopped reading (the reason for 4408); then the close frame is queued on the
    transport and the connection closed after it.
    """
    if (daphne := daphne_protocol(send)) is not None:

        async def close_daphne(code: int) -> None:
            daphne.sendCloseFrame(code=int(code), isReply=False)

        return close_daphne

    async def close(code: int) -> None:
        await send({"type": "websocket.close", "code": int(code)})

    if (uvicorn := uvicorn_protocol(send)) is None:
        return close

    async def close_uvicorn(code: int) -> None:
        if uvicorn.writable.is_set() or uvicorn.close_sent:
            await close(code)
            return
        uvicorn.close_sent = True
        uvicorn.queue.put_nowait({"type": "websocket.disconnect", "code": code})
        transport = uvicorn.transport
        transport.write(bytes((0x88, 2)) + struct.pack("!H", code))
        transport.close()  # after what is buffered; abort if the client never takes it
        asyncio.get_running_loop().call_later(uvicorn.close_timeout, transport.abort)

    return close_uvicorn


def direct_writer(send: Any) -> Callable[[bytes], None] | None:
    """A function writing an already-framed text frame (``text_frame``) at once, or None.

    The ASGI path costs a task switch, an awaited call and the framing of the message per
    receiver; a broadcast to 500 sockets would pay that 500 times. On a socket no longer
    open the frame is dropped, as a closed socket's frames are.
    """
    if (daphne := daphne_protocol(send)) is not None:
        is_open = daphne.STATE_OPEN
        if (
            sock := _plain_twisted_socket(transport := getattr(daphne, "transport", None))
        ) is not None:
            return _twisted_send_now(daphne, transport, sock)

        def write_daphne(frame: bytes) -> None:
            if daphne.state == is_open:
                daphne.transport.write(frame)

        return write_daphne
    if (uvicorn := uvicorn_protocol(send)) is not None:
        transport = uvicorn.transport

        def write_uvicorn(frame: bytes) -> None:
            if not uvicorn.close_sent and not transport.is_closing():
                transport.write(frame)

        return write_uvicorn
    return None


def _plain_twisted_socket(transport: Any) -> socket.socket | None:
    """The socket under a plain (not TLS) Twisted TCP transport, else None."""
    tcp = sys.modules.get("twisted.internet.tcp")
    if tcp is None or not isinstance(transport, tcp.Connection) or transport.TLS:
        return None
    sock = transport.socket
    return sock if isinstance(sock, socket.socket) else None


def _twisted_send_now(daphne: Any, transport: Any, sock: socket.socket) -> Callable[[bytes], None]:
    """Daphne's direct writer: ``send()`` on the socket at once, as asyncio's transports do.

    Twisted's ``write`` only buffers and registers the socket for writing; the send comes
    from the reactor later, then the registration is undone: two ``epoll_ctl`` calls and a
    callback per frame (profiled: ~2/3 of a delivery's cost under Daphne). When Twisted has
    nothing unsent, every byte written before has reached the kernel, so a send now keeps
    the order; what the kernel does not take (a full send buffer, a slow reader), and every
    frame while anything is buffered (autobahn's own pings and close frames, ASGI sends),
    goes to ``transport.write`` behind what is there — so the backlog probe and the 4408
    bound see it as before. A send that fails otherwise (a reset connection) hands the
    frame to Twisted too, which finds the dead socket and closes as it always has.
    """
    is_open = daphne.STATE_OPEN
    send_now = sock.send

    def write_daphne_now(frame: bytes) -> None:
        if daphne.state != is_open:
            return
        if (
            not transport._tempDataLen
            and len(transport.dataBuffer) == transport.offset
            and transport.connected
            and not transport.disconnecting
            and not transport.TLS
        ):
            try:
                sent = send_now(frame)
            except OSError:  # BlockingIOError (the kernel's buffer is full), or worse
                sent = 0
            if sent == len(frame):
                return
            frame = frame[sent:]
        transport.write(frame)

    return write_daphne_now


def transport_backlog_probe(send: Any) -> Callable[[], int] | None:
    """Bytes the server accepted for this socket but has not yet written, if visible.

    Twisted keeps unsent bytes in ``dataBuffer`` (from ``offset``) and in
    ``_tempDataBuffer`` (``_tempDataLen`` long); asyncio transports say it themselves.
    """
    if (uvicorn := uvicorn_protocol(send)) is not None:
        return uvicorn.transport.get_write_buffer_size
    daphne = daphne_protocol(send)
    transport: Any = getattr(daphne, "transport", None)
    # Any Twisted FileDescriptor (``_tempDataLen``) has ``dataBuffer`` and ``offset`` too.
    if transport is None or not hasattr(transport, "_tempDataLen"):
        return None

    def twisted_backlog() -> int:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    return twisted_backlog


DRAIN_SECONDS = 5.0


def on_signal(sig: int, callback: Callable[[], None]) -> None:
    """Run ``callback`` on the running loop when ``sig`` arrives, however busy the loop is.

    Not ``loop.add_signal_handler``: asyncio learns of the signal from one byte the C-level
    handler writes to the loop's self-pipe (``signal.set_wakeup_fd``) — the socket every
    ``call_soon_threadsafe`` also writes a byte to, and the loop reads only between two
    iterations. Under load the loop spends long iterations fanning out while the sync thread
    finishes a few hundred database calls, each completion one more byte; the socket's
    buffer fills (a 1-byte write costs a whole buffer slot: ~270 of them here), the
    signal's byte is dropped ("Exception ignored when trying to write to the signal wakeup
    fd: BlockingIOError") and the handler never runs, so Daphne went on serving and a
    process manager's SIGTERM was ignored. A Python-level handler instead runs from the
    interpreter's per-signal flag at the next bytecode of the main thread: nothing to
    overflow. It only queues ``callback`` on the loop. (Should the kernel hand the signal to
    another thread, the C handler's byte still wakes the loop: under Daphne the wakeup fd
    stays Twisted's SIGCHLD pipe, which the loop watches.)
    """
    loop = asyncio.get_running_loop()

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(callback)  # a lost wakeup byte is harmless: the pipe is full

    signal.signal(sig, handler)


def install_graceful_shutdown(hub: Draining) -> None:
    """Under Daphne: on SIGTERM close every socket with 1001, so clients reconnect to another
    process at once, and stop once they are closed (or after DRAIN_SECONDS); a second
    SIGTERM stops at once.

    Twisted's own handler would stop the reactor and cut connections without a close frame.
    (uvicorn needs none of this: it closes sockets itself on shutdown.)
    """
    if "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import reactor as installed
    from twisted.internet.error import ReactorNotRunning

    # Typed by Twisted as zope interfaces, whose methods mypy reads without ``self``.
    reactor: Any = installed

    if not reactor.running:
        return
    loop = asyncio.get_running_loop()

    def stop() -> None:
        with contextlib.suppress(ReactorNotRunning):  # a second SIGTERM stopped it already
            reactor.stop()

    async def drain_and_stop() -> None:
        hub.draining = True
        log.info("SIGTERM: closing %s connection(s) with 1001", len(hub.connections))
        for conn in list(hub.connections):
            conn.close_soon(Close.GOING_AWAY)
        deadline = loop.time() + DRAIN_SECONDS
        while hub.connections and loop.time() < deadline:  # noqa: ASYNC110 - a deadline poll
            await asyncio.sleep(0.05)
        stop()

    tasks: list[asyncio.Task[None]] = []

    def on_term() -> None:
        if tasks:
            log.info("SIGTERM again: stopping now")
            stop()
            return
        tasks.append(loop.create_task(drain_and_stop()))

    try:
        on_signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: leave Twisted's
        return


_gc_tuned = False


def tune_gc() -> None:
    """Make full garbage collections rare in a server process (once per process).

    A process holding hundreds of sockets has a large heap of long-lived objects, and every
    full collection walks all of it: measured here, those pauses put the fan-out p99 over
    100 ms at 1,000 deliveries/s. ``gc.freeze()`` moves what start-up made out of the
    collector's sight, and larger thresholds make gen-2 passes rare (cycles are still
    collected). What the process makes later ``GcKeeper`` keeps out of sight.
    CHAT_GC_TUNING=0 turns both off.
    """
    global _gc_tuned
    if _gc_tuned or not settings.CHAT["GC_TUNING"]:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)


class GcKeeper:
    """Keeps what the sockets hold out of the collector's walks, and still frees it.

    Each socket brings ~150 long-lived objects after start-up (coroutines, tasks, contexts,
    timers, buffers, its ``Session``): 10,000 sockets hold 1.5 million. Left tracked, every
    middle-generation collection walks them all, and those pauses (0.2-0.6 s at 10,000
    sockets) were the many-rooms scenario's ack p99. So ``tick`` (every few seconds, on the
    event loop) freezes what exists, which no later collection walks. A tick costs ~1 ms:
    ``gc.freeze()`` splices lists, and the heap is measured by ``sys.getallocatedblocks()``
    (counting the frozen objects walks them all: 0.2 s at 10,000 sockets).

    Frozen objects are still freed when nothing refers to them, but not when they die in a
    cycle, which only a full collection frees. A closed socket used to leave two (session ->
    outbox -> the session's callback; uvicorn's HTTP protocol and its parser after the
    upgrade), holding ~88 objects each; both are broken when the socket closes (test:
    tests/e2e/test_servers.py), so a closed socket is freed at once. For whatever else
    dies in a cycle, the tick runs a full collection when the heap exceeds what it
    should hold by a quarter (CPython's own rule for full collections): what it held after
    the last full collection, plus ``per_socket`` for each socket opened since, minus the
    same for each one closed. Sockets that come and go (a ramp, a reconnect storm, churn)
    cost no full collection, and hidden garbage stays under a quarter of the heap.
    ``per_socket`` is re-measured at each full collection.
    """

    def __init__(
        self, sockets: Callable[[], int], *, growth: float = 0.25, per_socket: float = 300
    ) -> None:
        self.sockets = sockets
        self.growth = growth
        self.per_socket = per_socket  # heap blocks; measured: 315-340 under uvicorn
        self.kept = sys.getallocatedblocks()
        self.kept_sockets = sockets()
        self.bare = self.kept - per_socket * self.kept_sockets  # the heap without sockets

    def expected(self) -> float:
        """The heap's size with no garbage hidden in it (in blocks)."""
        return self.kept + self.per_socket * (self.sockets() - self.kept_sockets)

    def tick(self) -> None:
        gc.freeze()
        heap = sys.getallocatedblocks()
        metrics.heap_blocks.set(heap)
        if heap <= self.expected() * (1 + self.growth):
            return
        with metrics.gc_full_collection_seconds.time():
            gc.unfreeze()
            freed = gc.collect()
            gc.freeze()
        self.kept = sys.getallocatedblocks()
        self.kept_sockets = self.sockets()
        if self.kept_sockets >= 100 and self.kept > self.bare:  # else too few to tell
            self.per_socket = (self.kept - self.bare) / self.kept_sockets
        metrics.heap_blocks.set(self.kept)
        log.info("gc: a full collection freed %d objects; heap %d -> %d blocks",
                 freed, heap, self.kept)  # fmt: skip

    async def run(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            self.tick()
