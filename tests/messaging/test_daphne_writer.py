"""Daphne's direct writer: a frame goes to the socket at once (no writer registration with the
reactor) when Twisted has nothing unsent, and behind what Twisted holds otherwise.

A real Twisted TCP transport on a real loopback connection; the reactor is reduced to what a
transport asks of it (``IReactorFDSet``: which descriptors want writing), and the test plays
the reactor's part by calling ``doWrite`` while the transport wants to write.
"""

import functools
import select
import socket
from collections.abc import Iterator

import pytest
from twisted.internet import tcp

from messaging.servers import direct_writer, text_frame, transport_backlog_probe


class FDSet:
    """The reactor as far as a transport uses it."""

    def __init__(self) -> None:
        self.writers: set[object] = set()
        self.registrations = 0  # as asyncioreactor: an epoll_ctl now and one at removal

    def addWriter(self, fd: object) -> None:
        if fd not in self.writers:
            self.writers.add(fd)
            self.registrations += 1

    def removeWriter(self, fd: object) -> None:
        self.writers.discard(fd)

    def addReader(self, fd: object) -> None:
        pass

    def removeReader(self, fd: object) -> None:
        pass


class AutobahnProtocol:
    """What the writer reads of autobahn's protocol: the payload limit that marks it, the
    open state, the transport."""

    maxMessagePayloadSize = 0
    STATE_OPEN = 3
    STATE_CLOSING = 2

    def __init__(self, transport: tcp.Connection) -> None:
        self.transport = transport
        self.state = self.STATE_OPEN


class Link:
    def __init__(self, transport: tcp.Connection, client: socket.socket, reactor: FDSet) -> None:
        self.transport, self.client, self.reactor = transport, client, reactor
        self.protocol = AutobahnProtocol(transport)

        async def handle_reply(protocol: object, message: dict) -> None:
            raise AssertionError("frames go to the socket, not through ASGI")

        send = functools.partial(handle_reply, self.protocol)
        writer, probe = direct_writer(send), transport_backlog_probe(send)
        assert writer is not None and probe is not None
        self.write, self.backlog = writer, probe

    def readable(self) -> bytes:
        """What the client can read now, without waiting."""
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self.client.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return b"".join(chunks)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def pump(self, expected: int) -> bytes:
        """The reactor's part and the client's, in turn, until ``expected`` bytes arrived:
        waiting (as a reactor does) until the server may write or the client may read."""
        got = bytearray()
        while len(got) < expected:
            wants_write = [self.transport.socket] if self.transport in self.reactor.writers else []
            readable, writable, _ = select.select([self.client], wants_write, [], 5)
            assert readable or writable, f"stuck: {len(got)} of {expected} bytes arrived"
            if writable:
                assert self.transport.doWrite() is None
            got += self.readable()
        return bytes(got)


@pytest.fixture
def link() -> Iterator[Link]:
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    server.setblocking(False)
    reactor = FDSet()
    # No protocol: nothing is read here; FDSet is the part of a reactor a transport uses.
    transport = tcp.Connection(server, protocol=None, reactor=reactor)  # type: ignore[arg-type]
    transport.connected = 1
    yield Link(transport, client, reactor)
    client.close()
    server.close()


def test_an_idle_transport_sends_at_once_without_registering_for_writing(link: Link) -> None:
    frames = [text_frame(f"message {n}".encode()) for n in range(100)]
    for frame in frames:
        link.write(frame)
    assert link.reactor.registrations == 0  # before: one per frame, and the send later
    assert link.backlog() == 0
    assert link.readable() == b"".join(frames)


def test_a_frame_written_while_twisted_holds_bytes_goes_behind_them(link: Link) -> None:
    ping = b"\x89\x04ping"  # autobahn's own write, through Twisted
    link.transport.write(ping)
    frame = text_frame(b"broadcast")
    link.write(frame)
    assert link.readable() == b""  # not sent past the buffered ping
    assert link.backlog() == len(ping) + len(frame)
    assert link.pump(len(ping) + len(frame)) == ping + frame
    link.write(frame)  # drained: direct again
    assert link.readable() == frame
    assert link.reactor.registrations == 1


def test_what_the_kernel_does_not_take_is_kept_and_arrives_intact_and_in_order(link: Link) -> None:
    link.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = text_frame(bytes(range(256)) * 4096)  # 1 MiB: more than the kernel takes at once
    after = [text_frame(f"after {n}".encode()) for n in range(3)]
    link.write(big)
    unsent = link.backlog()
    assert 0 < unsent < len(big)  # the kernel took part; Twisted holds the rest
    for frame in after:
        link.write(frame)
    assert link.backlog() == unsent + sum(map(len, after))
    expected = big + b"".join(after)
    assert link.pump(len(expected)) == expected
    assert link.backlog() == 0


def test_a_reset_connection_is_left_for_twisted_to_find(link: Link) -> None:
    link.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    link.client.close()  # linger 0: a reset, so the next send fails
    link.write(text_frame(b"to nobody"))  # no exception out of the fan-out loop
    assert link.transport in link.reactor.writers
    assert isinstance(link.transport.doWrite(), Exception)  # Twisted's ConnectionLost


def test_nothing_is_written_once_the_websocket_is_closing(link: Link) -> None:
    link.protocol.state = link.protocol.STATE_CLOSING
    link.write(text_frame(b"late"))
    assert link.readable() == b"" and link.backlog() == 0
    assert link.reactor.registrations == 0
