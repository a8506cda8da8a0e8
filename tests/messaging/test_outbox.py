"""A slow reader never stalls a room: its bounded outbox overflows and it is closed 4408."""

import asyncio
import functools

import pytest

from messaging.outbox import Outbox
from messaging.servers import transport_backlog_probe


class StuckSocket:
    """A socket whose client stopped reading: every write blocks (as under uvicorn)."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.writing = asyncio.Event()  # the first write is under way
        self.release = asyncio.Event()

    async def send(self, message: dict) -> None:
        self.sent.append(message)
        self.writing.set()
        await self.release.wait()


async def test_a_blocked_writer_overflows_at_the_bound_and_the_caller_never_waits():
    socket = StuckSocket()
    overflowed = []
    outbox = Outbox(socket.send, max_bytes=10_000, on_overflow=lambda: overflowed.append(True))
    frame = "x" * 1000
    for _ in range(10):
        outbox.put(frame)  # put never awaits: the room's fan-out loop is never held up
    await socket.writing.wait()
    assert len(socket.sent) == 1 and not overflowed  # one write in flight, the rest queued
    for _ in range(2):
        outbox.put(frame)
    assert overflowed == [True]
    outbox.put(frame)  # after overflow: dropped, no second callback
    assert overflowed == [True]
    await outbox.aclose()


async def test_a_reader_that_keeps_up_gets_everything_in_order():
    sent: list[str] = []
    closed = asyncio.Event()

    async def send(message: dict) -> None:
        sent.append(message.get("text", f"close:{message.get('code')}"))
        if message["type"] == "websocket.close":
            closed.set()

    outbox = Outbox(send, max_bytes=1_000, on_overflow=lambda: pytest.fail("no overflow"))
    for n in range(500):
        outbox.put(f"frame {n}")
        if n % 50 == 0:
            await asyncio.sleep(0)  # let the writer run between puts (a yield, not a wait)
    outbox.close(1000)
    await asyncio.wait_for(closed.wait(), 3)
    assert sent == [f"frame {n}" for n in range(500)] + ["close:1000"]


class FakeTransport:
    """Twisted's transport for a client that reads nothing: every write stays unsent."""

    def __init__(self) -> None:
        self.dataBuffer = b""
        self.offset = 0
        self._tempDataLen = 0

    def write(self, data: bytes) -> None:
        self._tempDataLen += len(data)


class FakeProtocol:
    """Daphne's protocol as far as the outbox looks: autobahn's payload limit and open state,
    on a Twisted transport."""

    maxMessagePayloadSize = 0
    STATE_OPEN = state = 3

    def __init__(self) -> None:
        self.transport = FakeTransport()


async def test_daphne_backlog_counts_bytes_twisted_has_not_written():
    protocol = FakeProtocol()

    async def handle_reply(protocol, message):
        raise AssertionError("under Daphne frames go to the transport, not through ASGI")

    send = functools.partial(handle_reply, protocol)
    probe = transport_backlog_probe(send)
    assert probe is not None and probe() == 0
    overflowed = []
    outbox = Outbox(send, max_bytes=5_000, on_overflow=lambda: overflowed.append(True))
    for _ in range(10):
        outbox.put("y" * 1000)
        await asyncio.sleep(0)  # a yield: the backlog is read at each put, not by a task
    assert overflowed == [True]
    await outbox.aclose()


def test_no_probe_for_servers_that_apply_backpressure_themselves():
    async def send(message):
        return None

    assert transport_backlog_probe(send) is None


async def test_a_closed_outbox_lets_go_of_the_session_that_holds_it():
    """The session's overflow callback refers back to the session: after ``aclose`` nothing
    of that cycle remains, so a closed socket is freed without a collection (the server
    freezes its heap: messaging.servers.GcKeeper)."""
    import gc
    import weakref

    class Session:
        def __init__(self) -> None:
            self.outbox = Outbox(StuckSocket().send, max_bytes=10_000, on_overflow=self.overflowed)

        def overflowed(self) -> None:
            pass

    session = Session()
    gone = weakref.ref(session)
    await session.outbox.aclose()
    gc.disable()
    try:
        del session
        assert gone() is None
    finally:
        gc.enable()
